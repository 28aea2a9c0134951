"""Build everything a run needs before BasicSR makes or renames a folder, so that a failed start changes no file.

BasicSR's pipelines make (or rename to ``<name>_archived_<time>``) the experiment / results folder first and build
the datasets and the model afterwards: a bad value found while building used to leave the folder renamed, and a
later ``--auto_resume`` silently started from iteration 0. :func:`prebuild` builds the datasets, scans their files
(:mod:`mtsr_plugins.checks.data_scan`) and builds the model (networks, pretrained weights, losses, optimizers) first; the
pipeline's own ``build_dataset`` / ``build_model`` calls then get these objects (:func:`take_dataset`,
:func:`take_model`). Log lines written while prebuilding are kept and written to BasicSR's log once it exists.
"""
import logging

_datasets = {}  # id(dataset options dict) -> dataset built by prebuild
_model = []
_records = []  # log records of the prebuild, written once BasicSR's logger has its log file


class _Keep(logging.Handler):
    def emit(self, record):
        _records.append(record)


def _replay_log():
    if _records:
        logger = logging.getLogger('basicsr')
        for record in _records:
            if logger.isEnabledFor(record.levelno):  # ranks other than 0 log errors only
                logger.handle(record)
        _records.clear()


def _build(opt, phases, build_dataset, build_model):
    from mtsr_plugins.checks import before_start
    from mtsr_plugins.checks.options import building
    built = []
    for phase, dataset_opt in phases:
        with building(f'datasets.{phase}'):  # the dataset's errors name its keys under this path
            built.append((f'datasets.{phase}', build_dataset(dataset_opt), dataset_opt))
    before_start(opt, datasets=built)
    for _, dataset, dataset_opt in built:
        _datasets[id(dataset_opt)] = dataset
    _model.append(build_model(opt))


def prebuild(opt, phases, build_dataset, build_model):
    """Build and check the datasets of ``phases`` ((name, options) pairs) and the model of ``opt``, before any folder
    is made. BasicSR's root logger is held back meanwhile: its records are kept (not printed) and written to the
    log file later; the logger is left uninitialised, so the pipeline's ``get_root_logger(log_file=...)`` sets it
    up as usual."""
    from basicsr.utils import logger as basicsr_logger
    logger = logging.getLogger('basicsr')
    already = 'basicsr' in basicsr_logger.initialized_logger
    handler, level = _Keep(), logger.level
    if not already:  # stand in for BasicSR's set-up: get_root_logger() returns this logger without handlers
        basicsr_logger.initialized_logger['basicsr'] = True
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        _build(opt, phases, build_dataset, build_model)
    except BaseException:
        _datasets.clear()
        _model.clear()
        _records.clear()
        raise
    finally:
        if not already:
            logger.removeHandler(handler)
            logger.setLevel(level)
            del basicsr_logger.initialized_logger['basicsr']


def take_dataset(dataset_opt, build_dataset):
    """The dataset prebuilt for ``dataset_opt`` (built now when there is none)."""
    _replay_log()
    dataset = _datasets.pop(id(dataset_opt), None)
    return build_dataset(dataset_opt) if dataset is None else dataset


def take_model(opt, build_model):
    """The model prebuilt for ``opt`` (built now when there is none)."""
    _replay_log()
    return _model.pop() if _model else build_model(opt)
