"""The dependency stack imports as shipped: mmseg.models with mmcv-lite, basicsr 1.4.2 with new torchvision."""
import sys

from mtsr_plugins import compat


def test_mmseg_models_import_and_hrnet_is_registered():
    mmseg_models = compat.ensure_mmseg_importable()
    assert mmseg_models.BACKBONES.get('HRNet') is not None or mmseg_models.MODELS.get('HRNet') is not None
    ops = sys.modules['mmcv.ops']
    if getattr(ops, 'MTSR_LIGHT_STANDIN', False):  # mmcv-lite: pure-PyTorch point_sample, compiled ops refused
        import torch
        out = ops.point_sample(torch.arange(16.).view(1, 1, 4, 4), torch.tensor([[[0.5, 0.5]]]))
        assert out.shape == (1, 1, 1) and abs(out.item() - 7.5) < 1e-6  # mean of the 4 centre pixels
        try:
            ops.sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))
        except ImportError as err:
            assert 'compiled mmcv' in str(err)
        else:
            raise AssertionError('the stand-in must refuse compiled ops')


def test_apply_is_idempotent():
    import mtsr_plugins_hook
    compat.apply()
    compat.apply()
    finders = [f for f in sys.meta_path if isinstance(f, mtsr_plugins_hook.PluginFinder)]
    assert len(finders) == 1


def test_mmseg_builds_on_a_cpu_ddp_rank_beyond_the_visible_gpus():
    """Seen on a 1-GPU machine: rank 1 of a num_gpu: 0 DDP run died in mmengine's logger (IndexError: it looks up
    CUDA_VISIBLE_DEVICES[LOCAL_RANK]). CUDA is faked present in a fresh process, where no logger exists yet."""
    import os
    import subprocess
    import sys
    code = ('import torch\n'
            'torch.cuda.is_available = lambda: True\n'
            'torch.cuda.device_count = lambda: 1\n'
            'from mtsr_plugins.archs.hrnet_seg_arch import HRNetSegNet\n'
            'from mmengine.logging import print_log\n'
            'net = HRNetSegNet(num_classes=3, width=4)\n'
            "print_log('logged')\n")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='0', LOCAL_RANK='1', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'logged' in proc.stdout
