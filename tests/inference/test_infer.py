"""mtsr-infer: every method on a tiny trained-like experiment, tiles, odd sizes, image kinds, bad files, no
overwrites, low precision and the CUDA path (the exact rewrites: test_speed.py)."""
import os

import cv2
import numpy as np
import pytest
import torch
from infer_helpers import as_input, make_experiment, tiny_net, to_8bit_rgb, write_random_image
from torch import nn

from mtsr_plugins.checks.errors import ImageError
from mtsr_plugins.infer import main as infer_main
from mtsr_plugins.inference.loading import load_model, newest_weights
from mtsr_plugins.inference.methods import Outputs, make_runner
from mtsr_plugins.inference.tiling import float64_copy, receptive_field_radius


def read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f'{path} was not written'
    return img


def max_diff(a, b):
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


# ---- each method end to end, in a subprocess as a user runs it -------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize('method', ['srseg', 'sr2', 'ssg_rwsr', 'tad'])
def test_cli_each_method(tmp_path, method, run_python_module):
    exp, net = make_experiment(tmp_path / 'experiments', method, iters=(5,))
    img = write_random_image(tmp_path / 'in' / 'a.png', 21, 17)
    proc = run_python_module(['mtsr_plugins.infer', '--exp', exp, '-i', str(tmp_path / 'in'), '-o',
                              str(tmp_path / 'out')], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'net_g_5' not in proc.stdout  # the newest weights (latest), not an older checkpoint
    x = as_input(img)
    with torch.no_grad():
        if method == 'tad':  # HR 21x17 is reflect-padded to 22x18 for the x2 encoder (see the odd-size test)
            slr = torch.round(net.encode(torch.nn.functional.pad(x, (0, 1, 0, 1), mode='reflect')).clamp(0, 1) * 255)
            slr = slr / 255
            assert max_diff(read(tmp_path / 'out' / 'a_SLR.png'), to_8bit_rgb(slr)) <= 1
            shr = read(tmp_path / 'out' / 'a_SHR.png')
            assert shr.shape == (21, 17, 3) and max_diff(shr, to_8bit_rgb(net.decode(slr)[..., :21, :17])) <= 1
            return
        if method == 'sr2':
            gray = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            sr, logits = net(gray)
            rows = (tmp_path / 'out' / 'classes.csv').read_text().splitlines()
            assert rows[0].startswith('image,class,probability,p0') and rows[1].split(',')[:2] == \
                ['a', str(int(logits.argmax()))]
            expected = to_8bit_rgb(sr.repeat(1, 3, 1, 1))  # a colour input gets a colour output
        else:
            expected = to_8bit_rgb(net(x))
    out = read(tmp_path / 'out' / 'a_SR.png')
    assert out.shape == (84, 68, 3)
    assert max_diff(out, expected) <= 1  # BN folding changes float rounding only


# ---- in-process runs (one import) ---------------------------------------------------------------------------
def run_cli(args):
    return infer_main([str(a) for a in args])


@pytest.fixture(scope='module')
def experiments(tmp_path_factory):
    root = tmp_path_factory.mktemp('experiments')
    return {m: make_experiment(root, m) for m in ('srseg', 'sr2', 'ssg_rwsr', 'tad')}


def _runner(exp, **kw):
    seg = kw.pop('seg', False)
    return make_runner(load_model(exp, seg=seg), seg=seg, **kw)


@pytest.mark.parametrize('method,kw', [('srseg', {}), ('srseg', {'seg': True}), ('sr2', {}), ('ssg_rwsr', {}),
                                       ('tad', {'tad_mode': 'both'}), ('tad', {'tad_mode': 'decode'})])
def test_tiled_equals_untiled(experiments, method, kw):
    """Tiles of 12 px with the measured receptive field as context give the untiled output (<= 1/255)."""
    exp, _ = experiments[method]
    whole = _runner(exp, **kw)
    tiled = _runner(exp, tile=12, **kw)
    x = torch.rand(2, whole.in_ch, 30, 26, generator=torch.Generator().manual_seed(1))
    a, b = whole.process(x), tiled.process(x)
    pads = list(tiled._pads.values())
    assert pads and all(p >= 2 for p in pads)
    for ra, rb in zip(a, b):
        for key in ra:
            if key == 'classes':
                assert (ra[key] != rb[key]).float().mean() < 0.01  # argmax ties may flip
            else:
                assert (ra[key] - rb[key]).abs().max() <= 1 / 255, key
    if method != 'srseg':
        return
    # too little context does change the output: the test above can fail
    short = _runner(exp, tile=12, tile_pad=0, **kw).process(x)
    assert max((ra['sr'] - rb['sr']).abs().max() for ra, rb in zip(a, short)) > 1 / 255


def test_receptive_field_of_a_hand_computed_stack():
    # three 3x3 convs: radius 3 at LR; the x2 pixel shuffle after a 3x3 conv adds one LR pixel -> 4; +1 margin
    net = nn.Sequential(*[nn.Conv2d(2, 2, 3, 1, 1) for _ in range(3)]).double()
    assert receptive_field_radius(net, 2, [1]) == (4, True)
    up = nn.Sequential(nn.Conv2d(2, 2, 3, 1, 1), nn.Conv2d(2, 8, 3, 1, 1), nn.PixelShuffle(2),
                       nn.Conv2d(2, 2, 3, 1, 1)).double()
    radius, exact = receptive_field_radius(up, 2, [2])
    assert exact and radius in (4, 5)  # 2 LR + 1 HR (= 0.5 LR) conv, rounded up, + margin


def test_odd_sizes_are_padded_and_cropped(experiments, tmp_path):
    """TAD x2 encodes a 21x17 HR (padded to 22x18): SLR 11x9, SHR cropped back to 21x17; RRDBNet x2 (which
    pixel-unshuffles) takes 21x17 and gives 42x34."""
    exp, net = experiments['tad']
    img = write_random_image(tmp_path / 'in' / 'odd.png', 21, 17)
    assert run_cli(['--exp', exp, '-i', tmp_path / 'in', '-o', tmp_path / 'tad']) == 0
    slr, shr = read(tmp_path / 'tad' / 'odd_SLR.png'), read(tmp_path / 'tad' / 'odd_SHR.png')
    assert slr.shape == (11, 9, 3) and shr.shape == (21, 17, 3)
    x = torch.nn.functional.pad(as_input(img), (0, 1, 0, 1), mode='reflect')
    with torch.no_grad():
        ref_slr = torch.round(net.encode(x).clamp(0, 1) * 255) / 255
        ref_shr = net.decode(ref_slr)[..., :21, :17]
    assert max_diff(slr, to_8bit_rgb(ref_slr)) <= 1 and max_diff(shr, to_8bit_rgb(ref_shr)) <= 1
    # decode alone turns the stored SLR into the same SHR
    assert run_cli(['--exp', exp, '--decode', '-i', tmp_path / 'tad' / 'odd_SLR.png', '-o', tmp_path / 'dec']) == 0
    assert read(tmp_path / 'dec' / 'odd_SHR.png').shape == (22, 18, 3)
    assert max_diff(read(tmp_path / 'dec' / 'odd_SHR.png')[:21, :17], shr) <= 1

    exp2, net2 = make_experiment(tmp_path / 'x', 'ssg_rwsr', name='rrdb_x2', scale=2)
    assert run_cli(['--exp', exp2, '-i', tmp_path / 'in', '-o', tmp_path / 'rrdb']) == 0
    out = read(tmp_path / 'rrdb' / 'odd_SR.png')
    assert out.shape == (42, 34, 3)
    with torch.no_grad():
        ref = net2(torch.nn.functional.pad(as_input(img), (0, 1, 0, 1), mode='reflect'))[..., :42, :34]
    assert max_diff(out, to_8bit_rgb(ref)) <= 1


def test_gray_rgba_and_16bit_inputs(experiments, tmp_path):
    exp, net = experiments['srseg']
    gray = write_random_image(tmp_path / 'in' / 'gray.png', 10, 12, channels=1)
    rgba = write_random_image(tmp_path / 'in' / 'rgba16.png', 9, 11, channels=4, bits=16, seed=2)
    assert run_cli(['--exp', exp, '-i', tmp_path / 'in', '-o', tmp_path / 'out']) == 0
    out_gray = read(tmp_path / 'out' / 'gray_SR.png')
    assert out_gray.shape == (40, 48) and out_gray.dtype == np.uint8
    with torch.no_grad():
        sr = net(as_input(gray).repeat(1, 3, 1, 1))
    luma = (sr * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    assert max_diff(out_gray, to_8bit_rgb(luma)) <= 1

    out = read(tmp_path / 'out' / 'rgba16_SR.png')
    assert out.shape == (36, 44, 4) and out.dtype == np.uint16
    with torch.no_grad():
        sr = net(as_input(rgba[..., :3], bits=16))
    expected = (sr[0].clamp(0, 1) * 65535).round().permute(1, 2, 0).numpy()[..., ::-1]
    assert np.abs(out[..., :3].astype(np.float64) - expected).max() <= 65535 * 2e-5
    alpha = np.clip(cv2.resize(rgba[..., 3].astype(np.float32) / 65535, (44, 36), interpolation=cv2.INTER_CUBIC),
                    0, 1)
    assert np.abs(out[..., 3] / 65535. - alpha).max() < 1e-4  # alpha upscaled on its own, not by the network


def test_bad_file_is_named_and_skipped(experiments, tmp_path, capsys):
    exp, _ = experiments['ssg_rwsr']
    write_random_image(tmp_path / 'in' / 'good.png', 8, 8)
    (tmp_path / 'in' / 'broken.png').write_bytes(b'\x89PNG not really')
    assert run_cli(['--exp', exp, '-i', tmp_path / 'in', '-o', tmp_path / 'out']) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if 'broken.png' in line]
    assert len(lines) == 1 and 'not a readable image' in lines[0] and 'Traceback' not in err
    assert read(tmp_path / 'out' / 'good_SR.png').shape == (32, 32, 3)
    assert '1 of 2 file(s)' in err


def test_outputs_never_overwrite_inputs(experiments, tmp_path, capsys):
    exp, _ = experiments['ssg_rwsr']
    img = write_random_image(tmp_path / 'in' / 'a.png', 8, 8)
    assert run_cli(['--exp', exp, '-i', tmp_path / 'in', '-o', tmp_path / 'in']) == 2
    assert run_cli(['--exp', exp, '-i', tmp_path / 'in' / 'a.png', '-o', tmp_path / 'in']) == 2
    assert 'is the input folder' in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / 'in')) == ['a.png'] and np.array_equal(read(tmp_path / 'in' / 'a.png'), img)
    # the last guard: no output path may be an input file, whatever the folders
    outputs = Outputs(str(tmp_path / 'in'), [str(tmp_path / 'in' / 'a_SR.png')])
    with pytest.raises(ImageError, match='would overwrite an input'):
        outputs.path('a_SR.png')


def test_weights_choice_and_errors(experiments, tmp_path, capsys):
    exp, _ = make_experiment(tmp_path, 'srseg', iters=(10, 200))
    assert newest_weights(os.path.join(exp, 'models')).endswith('net_g_latest.pth')
    os.remove(os.path.join(exp, 'models', 'net_g_latest.pth'))
    assert newest_weights(os.path.join(exp, 'models')).endswith('net_g_200.pth')
    assert load_model(exp).weights.endswith('net_g_sr_latest.pth')  # head-less by default
    assert load_model(exp, seg=True).weights.endswith('net_g_200.pth')
    write_random_image(tmp_path / 'in' / 'a.png', 8, 8)
    head_less = os.path.join(exp, 'models', 'net_g_sr_latest.pth')
    assert run_cli(['--exp', exp, '--seg', '--weights', head_less, '-i', tmp_path / 'in', '-o', tmp_path / 'o']) == 2
    assert 'holds no segmentation head' in capsys.readouterr().err
    tad_weights = os.path.join(experiments['tad'][0], 'models', 'net_g_latest.pth')
    assert run_cli(['--exp', exp, '--weights', tad_weights, '-i', tmp_path / 'in', '-o', tmp_path / 'o']) == 2
    err = capsys.readouterr().err
    assert 'does not fit network_g (SRSEGNet)' in err and len(err.strip().splitlines()) == 1


def test_batches_of_same_size_inputs_give_the_single_image_outputs(experiments, tmp_path):
    exp, _ = experiments['srseg']
    for i in range(3):
        write_random_image(tmp_path / 'in' / f'{i}.png', 9, 10, seed=i)
    write_random_image(tmp_path / 'in' / 'other.png', 7, 10, seed=9)
    assert run_cli(['--exp', exp, '-i', tmp_path / 'in', '-o', tmp_path / 'one']) == 0
    assert run_cli(['--exp', exp, '--batch', 3, '-i', tmp_path / 'in', '-o', tmp_path / 'three']) == 0
    for name in ('0', '1', '2', 'other'):
        assert max_diff(read(tmp_path / 'one' / f'{name}_SR.png'), read(tmp_path / 'three' / f'{name}_SR.png')) <= 1


def _sr_diff_to_eager(experiments, size, calls=1, **kw):
    """Max |SR difference| between SRSEG's eager fp32 CPU runner and one built with ``kw``, on a random
    (N, 3, h, w) batch of ``size`` = (N, h, w), over ``calls`` calls."""
    exp, _ = experiments['srseg']
    n, h, w = size
    x = torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(0))
    ref, runner, diff = _runner(exp).process(x), _runner(exp, **kw), 0.
    for _ in range(calls):
        for a, b in zip(ref, runner.process(x)):
            assert a['sr'].shape == b['sr'].shape
            diff = max(diff, (a['sr'] - b['sr'].float().cpu()).abs().max().item())
    return diff


@pytest.mark.parametrize('precision', ['bf16'])
def test_low_precision_is_close(experiments, precision):
    assert _sr_diff_to_eager(experiments, (1, 12, 12), precision=precision, channels_last=True) < 0.05


@pytest.mark.slow
def test_compiled_runner_gives_the_eager_output(experiments):
    """``--compile`` (torch.compile, inductor on the CPU) computes what the eager network does."""
    assert _sr_diff_to_eager(experiments, (2, 10, 12), calls=2, compile='default') < 1e-4  # 2nd: cached graph


def test_float64_copy_leaves_the_network_alone():
    net = tiny_net('tad')
    copy64 = float64_copy(net)
    assert next(net.parameters()).dtype == torch.float32 and next(copy64.parameters()).dtype == torch.float64


@pytest.mark.gpu
def test_cuda_speed_path_matches_cpu(experiments):
    """On a GPU: fp16 + channels_last + padded last conv + tiles close to the CPU fp32 run (lead's GPU check)."""
    assert _sr_diff_to_eager(experiments, (2, 40, 36), device='cuda', precision='fp16', channels_last=True,
                             pad_last=True, tile=0) < 0.02


def test_seg_class_map_is_written_in_the_palette_and_raw_ids_behind_a_flag(tmp_path):
    """--seg: <stem>_classes.png is the head's class map coloured by default_palette (readable by eye);
    --class-ids adds <stem>_class_ids.png with the ids themselves."""
    from mtsr_plugins.utils.seg_vis import default_palette
    exp, net = make_experiment(tmp_path / 'experiments', 'srseg')
    with torch.no_grad():  # without the random biases the head predicts more than one class
        for name, param in net.named_parameters():
            if name.startswith('seg_head') and name.endswith('bias'):
                param.zero_()
    torch.save({'params': net.state_dict()}, os.path.join(exp, 'models', 'net_g_latest.pth'))
    img = write_random_image(tmp_path / 'in' / 'a.png', 12, 10)
    assert run_cli(['--exp', exp, '--seg', '-i', tmp_path / 'in', '-o', tmp_path / 'plain']) == 0
    assert not (tmp_path / 'plain' / 'a_class_ids.png').exists()
    assert run_cli(['--exp', exp, '--seg', '--class-ids', '-i', tmp_path / 'in', '-o', tmp_path / 'ids']) == 0
    with torch.no_grad():
        _, logits = net(as_input(img), with_seg=True)
    ids = np.kron(logits.argmax(1)[0].numpy().astype(np.uint8), np.ones((4, 4), np.uint8))
    raw = cv2.imread(str(tmp_path / 'ids' / 'a_class_ids.png'), cv2.IMREAD_UNCHANGED)
    assert raw.shape == (48, 40) and (raw != ids).mean() < 0.01  # BN folding may flip an argmax tie
    assert len(np.unique(ids)) > 1  # the map is not trivially one class
    colored = read(tmp_path / 'plain' / 'a_classes.png')[..., ::-1]  # RGB
    assert colored.shape == (48, 40, 3)
    palette = default_palette(net.num_classes)
    assert (np.abs(colored.astype(int) - palette[raw].astype(int)).max(axis=2) > 0).mean() < 0.01
    assert np.array_equal(read(tmp_path / 'ids' / 'a_classes.png')[..., ::-1], colored)


def test_bad_output_paths_and_tiles_are_one_line_errors_before_any_work(experiments, tmp_path, capsys):
    exp, _ = experiments['ssg_rwsr']
    write_random_image(tmp_path / 'in' / 'a.png', 8, 8)
    (tmp_path / 'taken.png').write_bytes(b'mine')
    cases = [(['-o', tmp_path / 'taken.png'], 'is an existing file, not a folder'),
             (['-o', '/proc/mtsr_out'], "cannot write in '/proc'"),
             (['-o', tmp_path / 'out', '--tile', '-5'], '--tile must be >= 0'),
             (['-o', tmp_path / 'out', '--tile-pad', '-1'], '--tile-pad must be >= 0')]
    for args, text in cases:
        assert run_cli(['--exp', exp, '-i', tmp_path / 'in'] + args) == 2, args
        err = capsys.readouterr().err.strip()
        assert text in err and len(err.splitlines()) == 1 and 'Traceback' not in err, err
    assert (tmp_path / 'taken.png').read_bytes() == b'mine'
    assert not (tmp_path / 'out').exists()
