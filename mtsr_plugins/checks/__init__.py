"""The checks that run before a run starts, so that a bad option, data file or weight file stops it in one line
(exit code 2) before anything is built or written.

:func:`before_start` is the entry point ``mtsr-train`` / ``mtsr-test`` (and BasicSR's own ``train.py`` /
``test.py`` with this package installed) call twice: with the parsed options, then with the datasets built from
them. In order:

1. options (:mod:`~mtsr_plugins.checks.options`): every key of the file known (:mod:`~.basicsr_keys`, the
   classes' own declarations, signatures), every value of its declared kind and range, BasicSR's rules
   (:mod:`~.basicsr_rules`) and the classes' cross-key hooks (:mod:`~.hooks`); every problem at once;
2. data (:mod:`~mtsr_plugins.checks.data_scan`): each built dataset holds a batch, and every file it will read;
3. weights (:mod:`~mtsr_plugins.checks.checkpoint`): each file the model loads, as it loads it.

The errors of all three are in :mod:`~mtsr_plugins.checks.errors`.
"""
from mtsr_plugins.checks.errors import DataError


def check_length(dataset, dataset_opt, path, world_size=1):
    """A dataset must hold a sample, and a training set at least one batch (BasicSR drops the last partial batch:
    with fewer samples than a batch no epoch would have a single iteration, and training would never end)."""
    if len(dataset) == 0:
        raise DataError('the dataset holds no sample', path=path)
    if dataset_opt.get('phase') == 'train':
        batch = int(dataset_opt['batch_size_per_gpu']) * world_size  # with accum_iter N: N micro-batches already
        samples = len(dataset) * int(dataset_opt.get('dataset_enlarge_ratio', 1))
        steps = int(dataset_opt.get('accum_iter') or 1)
        if samples < batch:
            micro = f" x accum_iter {steps}" if steps > 1 else ''
            raise DataError(f"{int(dataset_opt['batch_size_per_gpu']) // steps}{micro} x {world_size} process(es) "
                            f'is more than the {samples} training samples: no epoch would have a batch',
                            path=f'{path}.batch_size_per_gpu')


def before_start(opt, is_train=True, datasets=None):
    """Step 1 (``datasets`` None): check the options; raises OptionProblems with every problem, returns the
    :class:`~mtsr_plugins.checks.options.Findings` (notes on sections of other packages' types, which are then
    watched: :mod:`~mtsr_plugins.checks.key_use`). Step 2: ``datasets`` = [(option path, dataset, options)] built
    from them; each is checked for length and scanned file by file."""
    if datasets is None:
        from mtsr_plugins.checks.options import check_options
        return check_options(opt, is_train=is_train)
    from mtsr_plugins.checks.data_scan import scan_dataset
    for path, dataset, dataset_opt in datasets:
        check_length(dataset, dataset_opt, path, opt.get('world_size', 1))
        scan_dataset(dataset, dataset_opt, path)
    return None
