"""Per-method inference: which function of the trained network runs on an input and which files are written.

===========  ======================================  ===============================================================
method       runs                                    writes (``<stem>`` = input file name without extension)
===========  ======================================  ===============================================================
sr, ssg_rwsr ``net(lr)``                             ``<stem>_SR.png``
srseg        ``net(lr)`` (head-less generator);      ``<stem>_SR.png``; with seg also ``<stem>_classes.png`` (the
             with seg: ``net(lr, with_seg=True)``    class map at SR size in the palette ``val.palette``, else
                                                     seg_vis.default_palette), ``<stem>_overlay.png`` and, with
                                                     class_ids, ``<stem>_class_ids.png`` (8-bit class ids)
sr2          ``net(lr)`` -> SR and class logits      ``<stem>_SR.png`` and one ``classes.csv`` (class, probability)
tad          encode: ``encode(hr)`` rounded to 8     ``<stem>_SLR.png`` (8 bit, the image to store) and/or
             bit; decode: ``decode(slr)``            ``<stem>_SHR.png``
===========  ======================================  ===============================================================

Every function that maps an image to images runs through :meth:`Runner.run`: padding to the network's size
multiple, tiling (with the measured receptive field as default context), cropping back.
"""
import csv
import math
import os
import warnings
from fractions import Fraction

import cv2
import numpy as np
import torch

from mtsr_plugins.checks.errors import ImageError
from mtsr_plugins.inference.image_io import resize_alpha, to_channels, write_image
from mtsr_plugins.inference.speed import PRECISIONS, prepare
from mtsr_plugins.inference.tiling import auto_tile, float64_copy, pad_to_multiple, receptive_field_radius, run_tiled
from mtsr_plugins.utils.seg_vis import colorize_labels, default_palette, overlay


class Outputs:
    """Output paths under ``out_dir``; refuses a path that is one of the input files."""

    def __init__(self, out_dir, inputs):
        self.out_dir = out_dir
        self.inputs = {os.path.realpath(p) for p in inputs}

    def path(self, name):
        path = os.path.join(self.out_dir, name)
        if os.path.realpath(path) in self.inputs:
            raise ImageError(f"output '{path}' would overwrite an input file")
        return path


def _hwc(t):
    """(C, H, W) tensor -> float32 (H, W, C) numpy array."""
    return t.detach().float().cpu().permute(1, 2, 0).numpy()


class Runner:
    """Base runner: prepares the network (:func:`~mtsr_plugins.inference.speed.prepare`), runs tileable functions.

    Args:
        loaded (LoadedModel): from :func:`~mtsr_plugins.inference.loading.load_model`.
        device (str): 'cpu' or 'cuda'.
        precision (str): 'fp32', 'fp16' or 'bf16'.
        tile (int | None): None: no tiling; 0: a tile fitting the free GPU memory (none on CPU); N: N-pixel tiles.
        tile_pad (int | None): context per tile side in input pixels; None: the measured receptive-field radius.
        compile (bool | str): ``torch.compile`` the functions called; a str is its mode ('default',
            'reduce-overhead': CUDA graphs, 'max-autotune').
        channels_last, pad_last, fold, merge_shuffle: see :mod:`mtsr_plugins.inference.speed`.
    """
    suffix = '_SR'

    def __init__(self, loaded, device='cpu', precision='fp32', tile=None, tile_pad=None, channels_last=False,
                 compile=False, pad_last=False, fold=True, merge_shuffle=True):
        self.loaded, self.scale = loaded, loaded.scale
        self.device, self.dtype = torch.device(device), PRECISIONS[precision]
        self.tile, self.tile_pad = tile, tile_pad
        self.channels_last, self.compile = channels_last, compile
        self.net, self.notes = prepare(loaded.net, self.device, precision, channels_last, fold, pad_last,
                                       probe_ch=self.in_ch, merge_shuffle=merge_shuffle)
        self._fns, self._pads, self._tiles = {}, {}, {}

    # ---- what the network computes -----------------------------------------------------------------------
    @property
    def in_ch(self):
        """Channels of the images the network reads."""
        return int(self.loaded.opt['network_g'].get('num_in_ch', 3))

    @property
    def align(self):
        """Size multiple the network needs (BasicSR's RRDBNet pixel-unshuffles at scales 1 and 2)."""
        net_opt = self.loaded.opt['network_g']
        if net_opt.get('type') == 'RRDBNet':
            return {1: 4, 2: 2}.get(net_opt.get('scale', self.scale), 1)
        return 1

    def tileables(self, net):
        """{name: (fn, in_ch, ratios, align)}: the image-to-image functions of ``net`` (see tiling.run_tiled)."""
        return {'sr': (net, self.in_ch, [self.scale], self.align)}

    # ---- running ---------------------------------------------------------------------------------------------
    def _fn(self, name):
        if name not in self._fns:
            fn = self.tileables(self.net)[name][0]
            mode = None if self.compile in (True, 'default') else self.compile
            self._fns[name] = torch.compile(fn, mode=mode) if self.compile else fn
        return self._fns[name]

    def pad_for(self, name):
        if self.tile_pad is not None:
            return self.tile_pad
        if name not in self._pads:
            fn, in_ch, ratios, align = self.tileables(float64_copy(self.loaded.net))[name]
            radius, exact = receptive_field_radius(fn, in_ch, ratios, align)
            if not exact:
                warnings.warn(f'the receptive field of {name} is larger than the probe; --tile-pad {radius} is used, '
                              'tiles may differ slightly from an untiled run (set --tile-pad higher)')
            self._pads[name] = radius
        return self._pads[name]

    def tile_for(self, name, batch):
        if self.tile is None:
            return 0
        if self.tile > 0:
            return self.tile
        if (name, batch) not in self._tiles:
            _, in_ch, _, align = self.tileables(self.net)[name]
            self._tiles[name, batch] = auto_tile(self._fn(name), in_ch, self.device, self.dtype, self.pad_for(name),
                                                 align, batch)
        return self._tiles[name, batch]

    def run(self, name, x):
        """Tileable function ``name`` on x (N, C, H, W): returns its outputs, each cropped to ceil((H, W) * ratio)
        (on the device in the network's precision, or float32 on the CPU when tiled)."""
        _, _, ratios, align = self.tileables(self.net)[name]
        x = x.to(self.device, self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x, (h, w) = pad_to_multiple(x, align)
        tile = self.tile_for(name, x.shape[0])
        pad = self.pad_for(name) if tile > 0 else 0
        with torch.inference_mode():
            outs = run_tiled(self._fn(name), x, tile, pad, ratios, align)
            if self.compile == 'reduce-overhead':  # CUDA graphs reuse their output memory at the next call
                outs = tuple(o.clone() for o in outs)
        return tuple(o[..., :math.ceil(h * Fraction(r)), :math.ceil(w * Fraction(r))] for o, r in zip(outs, ratios))

    def process(self, x):
        """x (N, in_ch, H, W) in [0, 1] -> list of N result dicts (tensors (C, h, w) / values)."""
        (sr,) = self.run('sr', x)
        return [{'sr': s} for s in sr]

    def write(self, outputs, stem, image, result):
        """Write one input's results; ``image`` is the input :class:`Image` (channels, alpha, bit depth)."""
        sr = _hwc(result['sr'])
        rgb = to_channels(sr, image.rgb.shape[2])
        alpha = None if image.alpha is None else resize_alpha(image.alpha, rgb.shape[:2])
        write_image(outputs.path(f'{stem}{self.suffix}.png'), rgb, alpha, image.bits)
        return sr

    def finish(self, outputs):
        """Called once after all images (e.g. to write a table)."""


class SRSEGRunner(Runner):
    """SRSEG: the head-less generator; with ``seg`` the segmentation head too (class map in colour + overlay;
    with ``class_ids`` also the raw id map)."""

    def __init__(self, loaded, seg=False, class_ids=False, **kw):
        self.seg, self.class_ids = seg, class_ids
        super().__init__(loaded, **kw)
        palette = (loaded.opt.get('val') or {}).get('palette')
        self.palette = np.asarray(palette if palette else default_palette(loaded.net.num_classes), np.uint8)

    def tileables(self, net):
        if not self.seg:
            return super().tileables(net)
        return {'sr': (lambda x: net(x, with_seg=True), self.in_ch, [self.scale, 1], 1)}

    def process(self, x):
        if not self.seg:
            return super().process(x)
        sr, logits = self.run('sr', x)
        return [{'sr': s, 'classes': c} for s, c in zip(sr, logits.argmax(1))]

    def write(self, outputs, stem, image, result):
        sr = super().write(outputs, stem, image, result)
        if 'classes' in result:
            s = self.scale
            classes = np.kron(result['classes'].cpu().numpy().astype(np.uint8), np.ones((s, s), np.uint8))
            if self.class_ids and not cv2.imwrite(outputs.path(f'{stem}_class_ids.png'), classes):
                raise ImageError(f"could not write '{outputs.path(f'{stem}_class_ids.png')}'")
            write_image(outputs.path(f'{stem}_classes.png'), colorize_labels(classes, self.palette) / 255.)
            sr8 = np.clip(np.round(to_channels(sr, 3) * 255), 0, 255).astype(np.uint8)
            write_image(outputs.path(f'{stem}_overlay.png'), overlay(sr8, classes, self.palette) / 255.)


class SR2Runner(Runner):
    """SR²: the SR image and the class predicted from the whole (untiled) input; ``classes.csv`` at the end."""

    def __init__(self, loaded, **kw):
        super().__init__(loaded, **kw)
        self.rows = []
        self.has_classifier = loaded.net.classifier is not None

    def tileables(self, net):
        return {'sr': (lambda x: net(x, with_logits=False)[0], self.in_ch, [self.scale], 1),
                'both': (net, self.in_ch, [self.scale], 1)}

    def process(self, x):
        if not self.has_classifier:
            return super().process(x)
        if self.tile_for('sr', x.shape[0]) > 0:  # SR by tiles; the classifier needs the whole image
            (sr,) = self.run('sr', x)
            with torch.inference_mode():
                logits = self._fn('both')(x.to(self.device, self.dtype))[1]
        else:
            with torch.inference_mode():
                sr, logits = self._fn('both')(x.to(self.device, self.dtype))
        probs = torch.softmax(logits.float().cpu(), 1)
        return [{'sr': s, 'probs': p} for s, p in zip(sr, probs)]

    def write(self, outputs, stem, image, result):
        super().write(outputs, stem, image, result)
        if 'probs' in result:
            probs = result['probs']
            self.rows.append([stem, int(probs.argmax()), f'{probs.max().item():.6f}'] +
                             [f'{p:.6f}' for p in probs.tolist()])

    def finish(self, outputs):
        if not self.rows:
            return
        with open(outputs.path('classes.csv'), 'w', newline='') as handle:
            table = csv.writer(handle)
            table.writerow(['image', 'class', 'probability'] + [f'p{k}' for k in range(len(self.rows[0]) - 3)])
            table.writerows(self.rows)


class TADRunner(Runner):
    """TAD: ``encode`` (HR -> 8-bit SLR), ``decode`` (SLR -> SHR) or ``both`` (HR -> SLR -> SHR)."""

    def __init__(self, loaded, mode='both', **kw):
        if mode not in ('encode', 'decode', 'both'):
            raise ValueError(f"TAD mode must be 'encode', 'decode' or 'both', got {mode!r}")
        self.mode = mode
        tad = loaded.opt.get('tad') or {}
        self.no_tad, self.add_guidance = bool(tad.get('no_tad', False)), bool(tad.get('add_guidance', True))
        super().__init__(loaded, **kw)

    @property
    def in_ch(self):
        return self.loaded.net.num_latent_ch if self.mode == 'decode' else self.loaded.net.num_in_ch

    def tileables(self, net):
        s = net.scale

        def encode(hr):
            return net.make_guidance(hr) if self.no_tad else net.encode(hr, add_guidance=self.add_guidance)

        return {'encode': (encode, net.num_in_ch, [Fraction(1, s)], s),
                'decode': (net.decode, net.num_latent_ch, [s], 1)}

    def process(self, x):
        if self.mode == 'decode':
            (shr,) = self.run('decode', x)
            return [{'shr': s} for s in shr]
        (slr,) = self.run('encode', x)
        slr = torch.round(slr.float().clamp(0, 1) * 255) / 255  # the 8-bit image a user stores
        if self.mode == 'encode':
            return [{'slr': s} for s in slr]
        (shr,) = self.run('decode', slr)
        shr = shr[..., :x.shape[-2], :x.shape[-1]]  # the HR was padded to a multiple of the scale
        return [{'slr': a, 'shr': b} for a, b in zip(slr, shr)]

    def write(self, outputs, stem, image, result):
        if 'slr' in result:
            slr = _hwc(result['slr'])
            alpha = None if image.alpha is None else resize_alpha(image.alpha, slr.shape[:2])
            write_image(outputs.path(f'{stem}_SLR.png'), slr, alpha, 8)
        if 'shr' in result:
            if self.mode == 'decode' and stem.endswith('_SLR'):
                stem = stem[:-len('_SLR')]
            shr = _hwc(result['shr'])
            if self.loaded.net.task == 'sr' and self.mode != 'decode':
                shr = to_channels(shr, image.rgb.shape[2])
            alpha = None if image.alpha is None else resize_alpha(image.alpha, shr.shape[:2])
            write_image(outputs.path(f'{stem}_SHR.png'), shr, alpha, image.bits)


def make_runner(loaded, seg=False, tad_mode='both', class_ids=False, **kw):
    """The runner for ``loaded.method`` (keyword arguments: see :class:`Runner`)."""
    if loaded.method == 'srseg':
        return SRSEGRunner(loaded, seg=seg, class_ids=class_ids, **kw)
    if loaded.method == 'sr2':
        return SR2Runner(loaded, **kw)
    if loaded.method == 'tad':
        return TADRunner(loaded, mode=tad_mode, **kw)
    return Runner(loaded, **kw)
