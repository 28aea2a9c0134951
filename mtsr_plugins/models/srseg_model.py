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
import os.path as osp
from collections import OrderedDict
from contextlib import contextmanager

from basicsr.losses import build_loss
from basicsr.models.sr_model import SRModel
from basicsr.models.srgan_model import SRGANModel
from basicsr.utils import get_root_logger
from basicsr.utils.dist_util import master_only
from basicsr.utils.registry import MODEL_REGISTRY

from mtsr_plugins.archs.srseg_arch import strip_seg_head
from mtsr_plugins.checks.declaration import REQUIRED, Key, Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_model_options
from mtsr_plugins.losses.perceptual import build_perceptual_loss
from mtsr_plugins.models.base_model import MTSRModel
from mtsr_plugins.utils.networks import bare
from mtsr_plugins.utils.checkpoint_format import save_weights_checked
from mtsr_plugins.utils.safe_saving import checked_save
from mtsr_plugins.utils.safetensors_files import network_metadata


def stage_at(current_iter, stage_iters):
    """1, 2 or 3 for the (1-based) iteration ``current_iter``; stage_iters = [last iter of stage 1, of stage 2]."""
    return 1 + sum(current_iter > bound for bound in stage_iters)


@MODEL_REGISTRY.register()
class SRSEGModel(MTSRModel, SRGANModel):
    """Options beyond SRGANModel's: ``train.stage_iters`` [a, b]; ``train.seg_opt`` (BoundaryMaskedCELoss; leave it
    out, with ``network_g.with_seg_head: false``, to train the same schedule without the head);
    ``train.perceptual_opt.pretrained``; ``val.save_seg`` (default: ``save_img``) writes a segmentation overlay.
    Batches carry ``label`` (N,h,w) int64 at the logits' resolution (PairedImageSegDataset)."""
    output_keys = ('output', 'seg_logits')
    option_sections = {'train': Section({
        'stage_iters': Key('list', REQUIRED, '[a, b]: iterations 1..a are stage 1 (MSE), a+1..b stage 2 (+ masked '
                           'CE), later ones stage 3 (+ perceptual + GAN)', length=2, item=Key('int', low=0)),
        'seg_opt': Key('mapping', None, 'the segmentation loss (BoundaryMaskedCELoss); leave it out, with '
                       'network_g.with_seg_head: false, to train the same schedule without the head',
                       typed='loss'),
        'perceptual_opt': Key('mapping', None, "stage 3's perceptual loss (BasicSR's PerceptualLoss, built without a "
                              'download)', typed='loss', adds=Section({
                                  'pretrained': Key('bool', True, 'false: a randomly initialised VGG (tests and CPU '
                                                    'demos only); true needs the torchvision weight file on disk')})),
    })}

    @classmethod
    def check_training(cls, train_opt, section):
        bounds = train_opt.get('stage_iters')
        if isinstance(bounds, (list, tuple)) and len(bounds) == 2 and not bounds[0] <= bounds[1]:
            raise OptionError(f'expected [last iter of stage 1, last iter of stage 2] with a <= b (e.g. [25000, '
                              f'50000]), got {bounds!r}', path='train.stage_iters')
        for key in ('pixel_opt', 'gan_opt', 'optim_d'):
            if not train_opt.get(key):
                raise OptionError(f'train.{key}: required by SRSEGModel')
        if train_opt.get('seg_opt') and not (section.get('network_g') or {}).get('with_seg_head', True):
            raise OptionError('train.seg_opt: set, but network_g.with_seg_head is false')
        net_d = section.get('network_d') or {}
        d_size = net_d.get('input_size', 128 if net_d.get('type') == 'VGGStyleDiscriminator' else None)
        gt_size = ((section.get('datasets') or {}).get('train') or {}).get('gt_size')
        if d_size is not None and gt_size is not None and d_size != gt_size:
            hint = (' (VGGStyleDiscriminator only takes 128 or 256: use SRSEGDiscriminator for other crop sizes)'
                    if net_d.get('type') == 'VGGStyleDiscriminator' else '')
            raise OptionError(f'network_d.input_size ({d_size}) must equal the HR crop size datasets.train.gt_size '
                              f'({gt_size}){hint}')

    def __init__(self, opt):
        check_model_options(type(self), opt)
        super().__init__(opt)
        if not hasattr(bare(self.net_g), 'seg_head'):
            raise TypeError(f"SRSEGModel needs network_g of type SRSEGNet, got {opt['network_g'].get('type')}")

    # ---- set-up ---------------------------------------------------------------------------------------------------
    def init_training_settings(self):
        train_opt = self.opt['train']
        bounds = train_opt['stage_iters']  # checked by check_options
        self.stage_iters = list(bounds)

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

        has_head = bare(self.net_g).seg_head is not None
        self.cri_seg = build_loss(train_opt['seg_opt']).to(self.device) if train_opt.get('seg_opt') else None
        if self.cri_seg is not None and not has_head:  # a head removed by another network type than check_options saw
            raise OptionError('train.seg_opt: set, but network_g has no segmentation head')
        if self.cri_seg is None:
            get_root_logger().warning('SRSEGModel: no train.seg_opt, the segmentation loss is off (ablation).')

        self.cri_pixel = self.cri_pix  # the module (guarded against non-finite values as a cri_* attribute)
        self.cri_pix = self._pixel_and_seg_loss  # hook into the loops' pixel term
        self._seg_active = False
        self._extra_log = {}
        self.stage = None
        get_root_logger().info(f'SRSEG stages: 1 (MSE) iters 1..{bounds[0]}, 2 (+CE) ..{bounds[1]}, '
                               f'3 (+perceptual +GAN) after.')

    # ---- training step --------------------------------------------------------------------------------------------
    def label_spec(self):
        net = bare(self.net_g)
        seg_opt = (self.opt.get('train') or {}).get('seg_opt') or {}
        return (net.num_classes, seg_opt.get('ignore_index', 255)) if net.seg_head is not None else None

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
        if getattr(self, 'label', None) is None:
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
        params = {k: v.detach().cpu() for k, v in strip_seg_head(self.inference_net().state_dict()).items()}
        tag = 'latest' if current_iter == -1 else current_iter
        models = self.opt['path']['models']
        if getattr(self, 'mtsr_checkpoint_format', 'pth') == 'safetensors':
            net_opt = dict(self.opt['network_g'], with_seg_head=False)
            save_weights_checked(params, osp.join(models, f'net_g_sr_{tag}.safetensors'),
                                 network_metadata(net_opt, self.opt.get('scale') or 1))
        else:
            checked_save({'params': params}, osp.join(models, f'net_g_sr_{tag}.pth'))

    # ---- validation -----------------------------------------------------------------------------------------------
    def forward_test(self, net):
        """SR output (N,3,H,W) -> self.output; with a head, also logits (N,C,h,w) -> self.seg_logits."""
        out = net(self.lq, with_seg=net.seg_head is not None)
        self.output, self.seg_logits = out if isinstance(out, tuple) else (out, None)

    def predict_classes(self):
        """Class maps (N,h,w) at the labels' (LR) resolution; the saved overlay is upsampled to the SR image."""
        return None if self.seg_logits is None else self.seg_logits.argmax(1)
