"""Tiny trained-like experiments for the inference / export tests: a network built from options, random weights
(BatchNorm statistics randomised too, so that folding is not trivial), saved the way BasicSR saves them, next to
the option file BasicSR copies into experiments/NAME."""
import os

import cv2
import numpy as np
import torch
import yaml

TINY = {
    'srseg': ('SRSEGModel', 4, dict(type='SRSEGNet', num_feat=8, num_block=2, upscale=4, num_classes=3,
                                    first_last_kernel=3, with_seg_head=True)),
    'sr2': ('SR2Model', 4, dict(type='SR2Net', sr_branch='fsrcnn', num_in_ch=1, scale=4, num_classes=10, d=8, s=4,
                                m=1, cls_hidden=16)),
    'ssg_rwsr': ('SSGRWSRModel', 4, dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1,
                                         num_grow_ch=8, scale=4)),
    'tad': ('TADModel', 2, dict(type='TADNet', scale=2, variant='aetad_very_small', num_feat=16)),
}


def randomize_bn(net, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) * 0.2 - 0.1)
    return net


def tiny_net(method, **overrides):
    import mtsr_plugins  # noqa: F401
    from basicsr.archs import build_network
    torch.manual_seed(0)
    return randomize_bn(build_network(dict(TINY[method][2], **overrides))).eval()


def make_experiment(root, method, name=None, iters=(), **overrides):
    """experiments-like folder ``root/name`` with ``name.yml`` and ``models/net_g_latest.pth`` (+ ``net_g_<it>.pth``
    for every it in ``iters`` with other weights; SRSEG also ``net_g_sr_latest.pth``). Returns (folder, net)."""
    model_type, scale, net_opt = TINY[method]
    net_opt = dict(net_opt, **overrides)
    scale = overrides.get('scale', overrides.get('upscale', scale))
    name = name or method
    exp = os.path.join(str(root), name)
    os.makedirs(os.path.join(exp, 'models'), exist_ok=True)
    with open(os.path.join(exp, f'{name}.yml'), 'w') as handle:
        handle.write('# GENERATE TIME: (as BasicSR writes it)\n')
        yaml.safe_dump({'name': name, 'model_type': model_type, 'scale': scale, 'num_gpu': 0, 'network_g': net_opt,
                        'tad': {'no_tad': False, 'add_guidance': True}}, handle, sort_keys=False)
    net = tiny_net(method, **overrides)
    for it in iters:  # older checkpoints: other weights
        other = tiny_net(method, **overrides)
        for p in other.parameters():
            p.data.add_(1.0)
        torch.save({'params': other.state_dict()}, os.path.join(exp, 'models', f'net_g_{it}.pth'))
    torch.save({'params': net.state_dict()}, os.path.join(exp, 'models', 'net_g_latest.pth'))
    if method == 'srseg':
        torch.save({'params': net.inference_state_dict()}, os.path.join(exp, 'models', 'net_g_sr_latest.pth'))
    return exp, net


def write_random_image(path, h, w, channels=3, bits=8, seed=0):
    rng = np.random.default_rng(seed)
    top = 255 if bits == 8 else 65535
    shape = (h, w) if channels == 1 else (h, w, channels)
    img = rng.integers(0, top + 1, shape, dtype=np.uint8 if bits == 8 else np.uint16)
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return img


def as_input(img_bgr, bits=8):
    """cv2 image (H, W) / (H, W, 3) -> (1, C, H, W) float tensor in RGB order, [0, 1]."""
    x = img_bgr.astype(np.float32) / (255. if bits == 8 else 65535.)
    if x.ndim == 2:
        x = x[..., None]
    elif x.shape[2] == 3:
        x = x[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]


def to_8bit_rgb(t):
    """(1, C, H, W) float -> uint8 (H, W, C) in cv2 channel order (BGR for 3 channels), as written to disk."""
    a = (t[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return a[..., ::-1] if a.shape[2] == 3 else a[..., 0]
