"""SRSEG training: BasicSR's SRGAN loop plus a boundary-masked segmentation loss, in three stages.

Stages (``train.stage_iters: [a, b]``; iterations 1..a are stage 1, a+1..b stage 2, then stage 3):
    1. MSE only (generator step only, the discriminator rests)            -> ``SRModel.optimize_parameters``
    2. MSE + masked CE on the segmentation logits (generator only)        -> ``SRModel.optimize_parameters``
    3. MSE + masked CE + VGG16 relu4_1 perceptual + adversarial, D trained -> ``SRGANModel.optimize_parameters``

BasicSR's own loops run unchanged; SRSEG enters through their hooks: ``self.cri_pix`` is a bound method that adds
the CE to the pixel loss (the loss modules themselves are ``self.cri_pixel`` and ``self.cri_seg``, so the launcher's
non-finite loss guard sees them), ``self.cri_perceptual`` is set per stage, and while a training step runs two forward
hooks on the generator ask it for the logits (``with_seg``) and keep them on the model, so the loop still sees an SR
image. The stage is a function of ``current_iter`` alone, so a resumed run lands in the right stage.

DDP: the hooks sit on ``self.net_g`` as built (the DDP wrapper under ``--launcher pytorch``), so DDP sees the logits
in the output it searches for used parameters. The segmentation head is unused in stage 1 (and the discriminator
until stage 3, but it runs no forward then): set ``find_unused_parameters: true``.
"""
import inspect
import os.path as osp
from collections import OrderedDict
from contextlib import contextmanager
from copy import deepcopy

import numpy as np
import torch
from torch import nn as nn

from basicsr.losses import build_loss
from basicsr.metrics import calculate_metric
from basicsr.models.sr_model import SRModel
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils import get_root_logger, imwrite, tensor2img
from basicsr.utils.dist_util import master_only
from basicsr.utils.registry import METRIC_REGISTRY, MODEL_REGISTRY

from mtsr_plugins.archs.srseg_arch import strip_seg_head
from mtsr_plugins.metrics.segmentation_metric import confusion_matrix, miou_from_confusion
from mtsr_plugins.options_check import MissingFileError, OptionError
from mtsr_plugins.utils.input_checks import check_label_ids
from mtsr_plugins.utils.seg_vis import default_palette, overlay


def stage_at(current_iter, stage_iters):
    """1, 2 or 3 for the (1-based) iteration ``current_iter``; stage_iters = [last iter of stage 1, of stage 2]."""
    return 1 + sum(current_iter > bound for bound in stage_iters)


def vgg_weights_file(vgg_type):
    """(file name, folder) where torchvision looks for the ImageNet weights of ``vgg_type`` before downloading."""
    import torchvision
    weights = torchvision.models.get_model_weights(vgg_type)
    return osp.basename(weights.IMAGENET1K_V1.url), osp.join(torch.hub.get_dir(), 'checkpoints')


@contextmanager
def _random_init_vgg():
    """BasicSR 1.4.2's VGGFeatureExtractor always asks torchvision for pretrained weights (a download): for tests
    and CPU demos (``perceptual_opt.pretrained: false``) it is pointed at randomly initialised VGGs instead."""
    import basicsr.archs.vgg_arch as vgg_arch
    from torchvision.models import vgg as torchvision_vgg
    real = vgg_arch.vgg

    class RandomVGG:
        def __getattr__(self, name):
            return lambda pretrained=False, **kwargs: getattr(torchvision_vgg, name)(weights=None)

    vgg_arch.vgg = RandomVGG()
    try:
        yield
    finally:
        vgg_arch.vgg = real


def build_perceptual_loss(popt):
    """BasicSR's PerceptualLoss, offline-safe.

    Extra keys: ``pretrained`` (default true): false = random-init VGG (tests / demos only, say so in results).
    ``criterion: l2`` is mean squared feature error (BasicSR 1.4.2's own 'l2' names a missing torch.nn.L2loss).
    With ``pretrained: true`` the torchvision weight file must already be on disk: it is not downloaded."""
    popt = deepcopy(popt)
    pretrained = popt.pop('pretrained', True)
    vgg_type = popt.get('vgg_type', 'vgg19')
    use_mse = popt.get('criterion', 'l1') == 'l2'
    if use_mse:
        popt['criterion'] = 'l1'
    if pretrained:
        import basicsr.archs.vgg_arch as vgg_arch
        file_name, folder = vgg_weights_file(vgg_type)
        basicsr_local = vgg_type == 'vgg19' and osp.exists(vgg_arch.VGG_PRETRAIN_PATH)
        if not basicsr_local and not osp.isfile(osp.join(folder, file_name)):
            raise MissingFileError(
                f'train.perceptual_opt: the ImageNet weights of {vgg_type} are not on this machine and will not be '
                f'downloaded. Put {file_name} (from https://download.pytorch.org/models/{file_name}) into {folder} '
                f'(torch hub cache; $TORCH_HOME moves it), or set perceptual_opt.pretrained: false for a '
                f'random-init VGG (tests/demos only), or drop perceptual_opt.')
        loss = build_loss(popt)
    else:
        get_root_logger().warning('perceptual_opt.pretrained is false: the perceptual loss uses a RANDOM VGG.')
        with _random_init_vgg():
            loss = build_loss(popt)
    if use_mse:
        loss.criterion = nn.MSELoss()
    return loss


def _is_seg_metric(metric_type):
    return 'pred' in inspect.signature(METRIC_REGISTRY.get(metric_type)).parameters


@MODEL_REGISTRY.register()
class SRSEGModel(SRGANModel):
    """Options beyond SRGANModel's: ``train.stage_iters`` [a, b]; ``train.seg_opt`` (BoundaryMaskedCELoss; leave it
    out, with ``network_g.with_seg_head: false``, to train the same schedule without the head);
    ``train.perceptual_opt.pretrained``; ``val.save_seg`` (default: ``save_img``) writes a segmentation overlay.
    Batches carry ``label`` (N,h,w) int64 at the logits' resolution (PairedImageSegDataset)."""

    def __init__(self, opt):
        self.seg_logits = None
        self.label = None
        super().__init__(opt)
        bare = self.get_bare_model(self.net_g)
        if not hasattr(bare, 'seg_head'):
            raise TypeError(f"SRSEGModel needs network_g of type SRSEGNet, got {opt['network_g'].get('type')}")

    # ---- set-up ---------------------------------------------------------------------------------------------------
    def init_training_settings(self):
        train_opt = self.opt['train']
        bounds = train_opt.get('stage_iters')
        if (not isinstance(bounds, (list, tuple)) or len(bounds) != 2 or not all(isinstance(b, int) for b in bounds)
                or not 0 <= bounds[0] <= bounds[1]):
            raise OptionError(f'train.stage_iters must be [last iter of stage 1, last iter of stage 2] with '
                              f'0 <= a <= b (e.g. [25000, 50000]), got {bounds!r}')
        self.stage_iters = list(bounds)
        for key in ('pixel_opt', 'gan_opt', 'optim_d'):
            if not train_opt.get(key):
                raise OptionError(f'train.{key} is required by SRSEGModel')
        self._check_discriminator_size()

        # SRGANModel would build the perceptual loss with a download: build it here, offline-safe
        perceptual_opt = train_opt.pop('perceptual_opt', None)
        try:
            super().init_training_settings()
        finally:
            if perceptual_opt is not None:
                train_opt['perceptual_opt'] = perceptual_opt
        self.cri_perceptual_full = (build_perceptual_loss(perceptual_opt).to(self.device)
                                    if perceptual_opt else None)
        self.cri_perceptual = None

        has_head = self.get_bare_model(self.net_g).seg_head is not None
        self.cri_seg = build_loss(train_opt['seg_opt']).to(self.device) if train_opt.get('seg_opt') else None
        if self.cri_seg is not None and not has_head:
            raise OptionError('train.seg_opt is set but network_g.with_seg_head is false')
        if self.cri_seg is None:
            get_root_logger().warning('SRSEGModel: no train.seg_opt, the segmentation loss is off (ablation).')

        self.cri_pixel = self.cri_pix  # the module (guarded against non-finite values as a cri_* attribute)
        self.cri_pix = self._pixel_and_seg_loss  # hook into the loops' pixel term
        self._seg_active = False
        self._extra_log = {}
        self.stage = None
        get_root_logger().info(f'SRSEG stages: 1 (MSE) iters 1..{bounds[0]}, 2 (+CE) ..{bounds[1]}, '
                               f'3 (+perceptual +GAN) after.')

    def _check_discriminator_size(self):
        net_d = self.opt.get('network_d') or {}
        d_size = net_d.get('input_size', 128 if net_d.get('type') == 'VGGStyleDiscriminator' else None)
        gt_size = (self.opt.get('datasets', {}).get('train') or {}).get('gt_size')
        if d_size is not None and gt_size is not None and d_size != gt_size:
            hint = (' (VGGStyleDiscriminator only takes 128 or 256: use SRSEGDiscriminator for other crop sizes)'
                    if net_d.get('type') == 'VGGStyleDiscriminator' else '')
            raise OptionError(f'network_d.input_size ({d_size}) must equal the HR crop size datasets.train.gt_size '
                              f'({gt_size}){hint}')

    # ---- training step --------------------------------------------------------------------------------------------
    def feed_data(self, data):
        super().feed_data(data)
        self.label = data['label'].to(self.device) if 'label' in data else None
        if self.label is not None:
            self._check_label_ids(data)

    def _check_label_ids(self, data):
        """Class ids outside num_classes (other than ignore_index) name the label file, before any loss runs."""
        bare = self.get_bare_model(self.net_g)
        if bare.seg_head is None:
            return
        seg_opt = (self.opt.get('train') or {}).get('seg_opt') or {}
        ignore_index = seg_opt.get('ignore_index', 255)
        bad = (self.label != ignore_index) & ((self.label < 0) | (self.label >= bare.num_classes))
        if bad.any():
            paths = data.get('label_path') or ['<batch>'] * len(self.label)
            for label, path in zip(self.label, paths):
                check_label_ids(label.cpu().numpy(), bare.num_classes, ignore_index, path)

    @contextmanager
    def _capture_seg_logits(self):
        """During a step: the generator is asked for logits (stage >= 2) and returns the SR image alone.

        The hooks go on ``self.net_g`` itself, a DDP wrapper under DDP: DDP then finds the head's parameters in the
        (SR, logits) output of its forward, before the hook hands the loop the SR image alone."""
        net = self.net_g

        def ask_for_logits(module, args, kwargs):
            kwargs.setdefault('with_seg', self._seg_active)
            return args, kwargs

        def keep_logits(module, args, output):
            self.seg_logits = output[1] if isinstance(output, tuple) else None
            return output[0] if isinstance(output, tuple) else output

        handles = [net.register_forward_pre_hook(ask_for_logits, with_kwargs=True),
                   net.register_forward_hook(keep_logits)]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()

    def _pixel_and_seg_loss(self, output, gt):
        """The loops' ``cri_pix``: pixel loss (+ masked CE in stages 2-3). Parts are logged separately."""
        l_pix = self.cri_pixel(output, gt)
        self._extra_log = {'l_g_pix': l_pix.detach()}
        if not self._seg_active:
            return l_pix
        if self.label is None:
            raise KeyError("SRSEG stage >= 2 needs a 'label' in each batch (use PairedImageSegDataset)")
        l_seg = self.cri_seg(self.seg_logits, self.label)
        self._extra_log['l_g_seg'] = l_seg.detach()
        return l_pix + l_seg

    def optimize_parameters(self, current_iter):
        stage = stage_at(current_iter, self.stage_iters)
        if stage != self.stage:
            get_root_logger().info(f'SRSEG: stage {stage} from iteration {current_iter}')
            self.stage = stage
        self._seg_active = stage >= 2 and self.cri_seg is not None
        self.cri_perceptual = self.cri_perceptual_full if stage == 3 else None
        with self._capture_seg_logits():
            if stage == 3:
                SRGANModel.optimize_parameters(self, current_iter)
            else:  # generator-only step; the discriminator joins in stage 3 (paper, sec. 4)
                SRModel.optimize_parameters(self, current_iter)
        log = OrderedDict((('l_g_pix' if k == 'l_pix' else k), v) for k, v in self.log_dict.items())
        log.update({k: v.item() for k, v in self._extra_log.items()})
        log['stage'] = stage
        self.log_dict = log

    # ---- checkpoints ----------------------------------------------------------------------------------------------
    def save(self, epoch, current_iter):
        super().save(epoch, current_iter)
        self.save_inference_checkpoint(current_iter)

    @master_only
    def save_inference_checkpoint(self, current_iter):
        """``net_g_sr_<iter|latest>.pth``: the generator without the segmentation head (loads into an SRSEGNet
        built with ``with_seg_head: false``)."""
        net = self.net_g_ema if hasattr(self, 'net_g_ema') else self.net_g
        params = {k: v.detach().cpu() for k, v in strip_seg_head(self.get_bare_model(net).state_dict()).items()}
        tag = 'latest' if current_iter == -1 else current_iter
        torch.save({'params': params}, osp.join(self.opt['path']['models'], f'net_g_sr_{tag}.pth'))

    # ---- validation -----------------------------------------------------------------------------------------------
    def test(self):
        """SR output (N,3,H,W) -> self.output; with a head, also logits (N,C,h,w) -> self.seg_logits.

        Runs the bare network: under DDP validation runs on rank 0 alone, and a DDP forward would broadcast the BN
        buffers to processes that are not listening (a hang or a crash)."""
        net = self.get_bare_model(self.net_g_ema if hasattr(self, 'net_g_ema') else self.net_g)
        with_seg = self.get_bare_model(net).seg_head is not None
        was_training = net.training
        net.eval()
        with torch.no_grad():
            out = net(self.lq, with_seg=with_seg)
        self.output, self.seg_logits = out if with_seg else (out, None)
        net.train(was_training)

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """PSNR/SSIM (img, img2) and segmentation metrics (pred, label at LR) from the registered metrics;
        ``calculate_miou`` is reported over the whole set (summed confusion matrix), not averaged per image."""
        dataset_name = dataloader.dataset.opt['name']
        metrics = dict(self.opt['val'].get('metrics') or {})
        has_head = self.get_bare_model(self.net_g).seg_head is not None
        num_classes = self.get_bare_model(self.net_g).num_classes
        if not has_head:  # the inference generator has no segmentation output
            metrics = {k: v for k, v in metrics.items() if not _is_seg_metric(v['type'])}
        self.metric_results = {name: 0.0 for name in metrics}
        if metrics:
            self._initialize_best_metric_results(dataset_name)
        save_seg = self.opt['val'].get('save_seg', save_img)
        palette = default_palette(num_classes)
        conf = np.zeros((num_classes, num_classes), np.int64)
        count = 0
        for val_data in dataloader:
            img_name = osp.splitext(osp.basename(val_data['lq_path'][0]))[0]
            self.feed_data(val_data)
            self.test()
            sr_img = tensor2img([self.output.detach().cpu()])
            data = {'img': sr_img}
            if hasattr(self, 'gt'):
                data['img2'] = tensor2img([self.gt.detach().cpu()])
            pred = None if self.seg_logits is None else self.seg_logits.argmax(1)[0].cpu().numpy()
            label = None if self.label is None else self.label[0].cpu().numpy()
            for name, mopt in metrics.items():
                if _is_seg_metric(mopt['type']):
                    if label is None:
                        raise KeyError(f"val.metrics.{name}: the validation set has no labels")
                    mopt = {'num_classes': num_classes, **mopt}
                    if mopt['type'] == 'calculate_miou':
                        conf += confusion_matrix(pred, label, num_classes, mopt.get('ignore_index', 255))
                    else:
                        self.metric_results[name] += calculate_metric({'pred': pred, 'label': label}, mopt)
                else:
                    self.metric_results[name] += calculate_metric(data, mopt)
            if save_img:
                imwrite(sr_img, self._vis_path(dataset_name, img_name, current_iter, ''))
            if save_seg and pred is not None:
                up = np.kron(pred, np.ones((self.opt['scale'], self.opt['scale']), pred.dtype))
                vis = overlay(sr_img[..., ::-1], up[:sr_img.shape[0], :sr_img.shape[1]], palette)
                imwrite(vis[..., ::-1], self._vis_path(dataset_name, img_name, current_iter, '_seg'))
            del self.lq, self.output
            if hasattr(self, 'gt'):
                del self.gt
            count += 1
        for name, mopt in metrics.items():
            if mopt['type'] == 'calculate_miou':
                self.metric_results[name] = miou_from_confusion(conf)
            else:
                self.metric_results[name] /= max(count, 1)
            self._update_best_metric_result(dataset_name, name, self.metric_results[name], current_iter)
        if metrics:
            self._log_validation_metric_values(current_iter, dataset_name, tb_logger)

    def _vis_path(self, dataset_name, img_name, current_iter, kind):
        if self.opt['is_train']:
            return osp.join(self.opt['path']['visualization'], img_name, f'{img_name}_{current_iter}{kind}.png')
        suffix = self.opt['val'].get('suffix') or self.opt['name']
        return osp.join(self.opt['path']['visualization'], dataset_name, f'{img_name}_{suffix}{kind}.png')
