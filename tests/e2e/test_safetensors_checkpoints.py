"""logger.save_checkpoint_format: safetensors on the tiny TAD run: no .pth network file, --auto_resume continues
from the .safetensors files, the weights (with EMA: both state dicts), mtsr-test's metrics (the .safetensors file as
path.pretrain_network_g) and mtsr-infer's output equal those of the .pth run."""
import os

import cv2
import numpy as np
import pytest
import torch
from conftest import load_options, logged_metric, point_datasets_at, run_module, write_options
from test_nothing_lost import _options

pytest.importorskip('safetensors.torch')


def _train(opt, tmp_path, *flags):
    proc = run_module(['mtsr_plugins.train', '-opt', write_options(opt, tmp_path / f"{opt['name']}.yml"), *flags],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc


def _with_ema(opt, ema_decay):
    opt['train']['ema_decay'] = ema_decay
    return opt


@pytest.mark.slow
@pytest.mark.parametrize('ema_decay', [0, 0.5], ids=['no_ema', 'ema'])
def test_a_safetensors_run_trains_resumes_and_infers_as_the_pth_run(demo_root, tmp_path, ema_decay):
    from safetensors import safe_open

    from mtsr_plugins.infer import main as infer_main
    first = _with_ema(_options(demo_root, 'st', total_iter=3, save_every=3, save_checkpoint_format='safetensors'),
                      ema_decay)
    _train(first, tmp_path)
    resumed = _train(dict(first, train=dict(first['train'], total_iter=6)), tmp_path, '--auto_resume')
    assert 'iter: 3.' in resumed.stdout
    _train(_with_ema(_options(demo_root, 'pth', total_iter=6, save_every=3), ema_decay), tmp_path)
    st_models, pth_models = tmp_path / 'experiments' / 'st' / 'models', tmp_path / 'experiments' / 'pth' / 'models'
    assert sorted(os.listdir(st_models)) == ['net_g_3.safetensors', 'net_g_6.safetensors', 'net_g_latest.safetensors']
    assert sorted(os.listdir(tmp_path / 'experiments' / 'st' / 'training_states')) == ['3.state', '6.state']
    with safe_open(str(st_models / 'net_g_6.safetensors'), framework='pt') as handle:
        st = {k: handle.get_tensor(k) for k in handle.keys()}
        meta = handle.metadata()
    assert meta['mtsr_plugins.network_type'] == 'TADNet' and meta['mtsr_plugins.scale'] == '2'
    pth = torch.load(pth_models / 'net_g_6.pth', weights_only=True)
    if ema_decay:  # BasicSR's two state dicts of one .pth, under their keys as prefixes
        assert meta['mtsr_plugins.param_keys'] == 'params,params_ema'
        assert any(not torch.equal(v, pth['params_ema'][k]) for k, v in pth['params'].items())  # two weights
        pth = {f'{key}.{name}': v for key in ('params', 'params_ema') for name, v in pth[key].items()}
    else:
        assert 'mtsr_plugins.param_keys' not in meta
        pth = pth['params']
    assert set(st) == set(pth) and all(torch.equal(st[k], pth[k]) for k in pth)  # the same training

    psnr, logs = {}, {}
    for name, weights in (('st', st_models / 'net_g_6.safetensors'), ('pth', pth_models / 'net_g_6.pth')):
        test_opt = point_datasets_at(load_options('options/test/tad_demo_x2.yml'), demo_root)
        test_opt.update(name=f'test_{name}', network_g=first['network_g'], tad=first['tad'])
        test_opt['path'].update(pretrain_network_g=str(weights), param_key_g='params_ema' if ema_decay else 'params')
        proc = run_module(['mtsr_plugins.test', '-opt', write_options(test_opt, tmp_path / f'test_{name}.yml')],
                          cwd=tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:]
        psnr[name], logs[name] = logged_metric(proc.stdout, 'psnr', 5, 60), proc.stdout
    assert 'net_g_6.safetensors (safetensors).' in logs['st'] and psnr['st'] == psnr['pth']

    image = (np.random.default_rng(0).random((24, 24, 3)) * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'in.png'), image)
    for name in ('st', 'pth'):
        assert infer_main(['--exp', str(tmp_path / 'experiments' / name), '-i', str(tmp_path / 'in.png'), '-o',
                           str(tmp_path / f'out_{name}')]) == 0
    outputs = sorted(os.listdir(tmp_path / 'out_st'))
    assert outputs and outputs == sorted(os.listdir(tmp_path / 'out_pth'))
    for name in outputs:
        assert np.array_equal(cv2.imread(str(tmp_path / 'out_st' / name), cv2.IMREAD_UNCHANGED),
                              cv2.imread(str(tmp_path / 'out_pth' / name), cv2.IMREAD_UNCHANGED)), name
