"""TADVideoModel: steps 2 and 3 of the TAD report's video pipeline (Schaefer 2019, Fig. 11) in BasicSR's loops."""
from collections import OrderedDict, defaultdict
from os import path as osp

import torch
from basicsr.archs import build_network
from basicsr.losses import build_loss
from basicsr.metrics import calculate_metric
from basicsr.utils import get_root_logger, imwrite, tensor2img
from basicsr.utils.color_util import rgb2ycbcr_pt
from basicsr.utils.registry import MODEL_REGISTRY

from mtsr_plugins.archs.tad_arch import GUIDANCE_RESIZES, make_guidance
from mtsr_plugins.checks.declaration import REQUIRED, Key, Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_model_options
from mtsr_plugins.models.tad_model import TADModel

LR_SOURCES = ('tad', 'bicubic')


@MODEL_REGISTRY.register()
class TADVideoModel(TADModel):
    """Batches come from ``TADVideoDataset``: ``gt`` (N, T, 3, H, W) HR frames in [0, 1].

    ``tad_video.step: 2``: ``network_g`` is a TADNet fine-tuned on video frames (load the step-1 weights with
    ``path.pretrain_network_g``); the frames are flattened into the batch, (N*T, 3, H, W), and TADModel's loss,
    schedule and options (``tad:``, ``train.pixel_opt``, ``train.latent_opt``) apply unchanged.

    ``tad_video.step: 3``: ``network_g`` is a SOFVSRNet trained on LR windows (N, T, C, H/s, W/s) made on the
    model's device from the HR frames, no gradient, by ``tad_video.lr_source``:
      * ``tad``: the frozen step-2 encoder ``network_tad`` (weights ``path.pretrain_network_tad``): SLR =
        encoder(HR) + guidance (``tad.add_guidance``), rounded to 8 bit (the image a user stores);
      * ``bicubic``: the plain LR (:func:`make_guidance`, ``tad_video.bicubic_resize``, 8 bit): the baseline.
    Loss: ``train.pixel_opt`` (SOF-VSR: ``MSELoss``) on the centre frame + ``train.flow_opt``
    (``SOFVSRFlowLoss``). With ``network_g.num_in_ch: 1`` SOF-VSR works on the Y channel (BT.601, as the authors)
    and metrics / images are of Y. ``self.output`` is the SR centre frame, ``self.slr`` the LR centre frame.

    Validation (batch 1; every frame of every clip is a window centre): PSNR/SSIM (``val.metrics``) of the centre
    frame, averaged per clip (logged per clip, kept in ``self.clip_results``), then over clips. With ``save_img``
    every frame's SR and LR are written to ``visualization/<dataset>/<clip>/``.
    """

    option_sections = {
        '': Section({'tad_video': Key('mapping', REQUIRED, 'which step of the video pipeline this run is',
                                      keys=Section({
                                          'step': Key('int', REQUIRED, '2: TAD fine-tuned on frames; 3: SOF-VSR on LR '
                                                      'frames', choices=(2, 3)),
                                          'lr_source': Key('str', 'tad', "step 3's LR frames: 'tad' (the frozen "
                                                           "step-2 encoder, network_tad) or 'bicubic' (the baseline)",
                                                           choices=LR_SOURCES),
                                          'bicubic_resize': Key('str', 'matlab_bicubic', "the resize of lr_source "
                                                                "'bicubic'", choices=GUIDANCE_RESIZES),
                                      }))}),
        'train': Section({'flow_opt': Key('mapping', None, "step 3: SOF-VSR's optical-flow loss (SOFVSRFlowLoss)",
                                          typed='loss')}),
    }

    def __init__(self, opt):
        check_model_options(type(self), opt)
        tv = opt.get('tad_video') or {}
        self.step, self.lr_source = tv.get('step'), tv.get('lr_source', 'tad')
        self.bicubic_resize = tv.get('bicubic_resize', 'matlab_bicubic')
        self.net_tad = None
        self.clip_results = {}
        super().__init__(opt)
        if self.step == 3 and self.lr_source == 'tad':
            self._build_frozen_tad()

    # ----------------------------------------------------------------------------------------------- set-up
    def _check_consistency(self):
        if self.step == 2:
            return super()._check_consistency()
        net = self.get_bare_model(self.net_g)
        if not hasattr(net, 'num_frame') or not hasattr(net, 'ofr'):
            raise TypeError(f'TADVideoModel: step 3 needs network_g of type SOFVSRNet, got {type(net).__name__}')
        if net.scale != self.opt.get('scale'):
            raise OptionError(f'TADVideoModel: network_g.scale {net.scale} != top-level scale {self.opt.get("scale")}')
        for name, dopt in (self.opt.get('datasets') or {}).items():
            if int(dopt.get('num_frame', 3)) != net.num_frame:
                raise OptionError(f'TADVideoModel: datasets.{name}.num_frame {dopt.get("num_frame", 3)} != '
                                  f'network_g.num_frame {net.num_frame}')

    def _build_frozen_tad(self):
        if 'network_tad' not in self.opt:
            raise OptionError('TADVideoModel: lr_source tad needs a network_tad section (the step-2 TADNet)')
        load_path = self.opt['path'].get('pretrain_network_tad')
        if load_path is None:
            raise OptionError('TADVideoModel: lr_source tad needs path.pretrain_network_tad (step-2 weights)')
        self.net_tad = build_network(self.opt['network_tad']).to(self.device)
        self.load_network(self.net_tad, load_path, True, self.opt['path'].get('param_key_tad', 'params'))
        self.net_tad.eval().requires_grad_(False)
        if self.net_tad.scale != self.opt['scale']:
            raise OptionError(f'TADVideoModel: network_tad.scale {self.net_tad.scale} != scale {self.opt["scale"]}')

    def init_training_settings(self):
        super().init_training_settings()
        flow_opt = self.opt['train'].get('flow_opt')
        self.cri_flow = build_loss(flow_opt).to(self.device) if (flow_opt and self.step == 3) else None

    # ----------------------------------------------------------------------------------------------- data
    def _net_channels(self, x):
        """(..., 3, H, W) RGB -> Y (..., 1, H, W) when SOF-VSR works on Y (step 3, num_in_ch 1); else unchanged."""
        if self.step == 2 or self.get_bare_model(self.net_g).num_in_ch == 3:
            return x
        return rgb2ycbcr_pt(x.flatten(0, -4), y_only=True).view(*x.shape[:-3], 1, *x.shape[-2:])

    def make_lr(self, frames):
        """HR frames (N, T, 3, H, W) -> LR frames (N, T, 3, H/s, W/s) of ``lr_source``, 8 bit, no gradient."""
        flat = frames.flatten(0, 1)
        with torch.no_grad():
            if self.lr_source == 'tad':
                lr = self.net_tad.encode(flat, add_guidance=self.add_guidance_test, quantize=True)
            else:
                lr = make_guidance(flat, self.opt['scale'], 'sr', self.bicubic_resize)
        return lr.view(*frames.shape[:2], *lr.shape[1:])

    def feed_data(self, data):
        if 'gt' not in data or data['gt'].dim() != 5:
            raise KeyError('TADVideoModel: the batch needs "gt" HR windows (N, T, 3, H, W) (use TADVideoDataset)')
        frames = data['gt'].to(self.device)
        self.mid = frames.size(1) // 2
        if self.step == 2:
            super().feed_data({'gt': frames.flatten(0, 1)})  # TADModel: gt (N*T, 3, H, W), lq = its guidance
            self.gt_frames = frames
            return
        if self.net_tad is None and self.lr_source == 'tad':
            raise RuntimeError('TADVideoModel: no network_tad was built')
        self.lq = self._net_channels(self.make_lr(frames))
        self.gt_frames = self._net_channels(frames)
        self.gt = self.gt_frames[:, self.mid]

    # ----------------------------------------------------------------------------------------------- step 3
    def _run(self, net, add_guidance, quantize):
        if self.step == 2:
            return super()._run(net, add_guidance, quantize)
        return self.lq[:, self.mid], net(self.lq)

    def optimize_parameters(self, current_iter):
        if self.step == 2:
            return super().optimize_parameters(current_iter)
        self.output, flows = self.net_g(self.lq, return_flows=True)
        loss_dict = OrderedDict(l_pix=self.cri_pix(self.output, self.gt))
        if self.cri_flow is not None:
            loss_dict['l_flow'] = self.cri_flow(flows, self.lq, self.gt_frames)
        self.backward_step(sum(loss_dict.values()), [self.optimizer_g], self.net_g.parameters(), self.grad_clip)
        self.log_dict = self.reduce_loss_dict(loss_dict)

    # ----------------------------------------------------------------------------------------------- validation
    def centre_frames(self):
        """(SR, HR, LR) centre frames of the current window, each (N, C, ., .)."""
        if self.step == 3:
            return self.output, self.gt, self.slr
        n, t = self.gt_frames.shape[:2]
        pick = lambda x: x.view(n, t, *x.shape[1:])[:, self.mid]  # noqa: E731
        return pick(self.output), self.gt_frames[:, self.mid], pick(self.slr)

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        dataset_name = dataloader.dataset.opt['name']
        metric_opts = self.opt['val'].get('metrics') or {}
        self._initialize_best_metric_results(dataset_name)
        per_clip = defaultdict(lambda: defaultdict(list))
        for val_data in dataloader:
            self.feed_data(val_data)
            self.test()
            sr, hr, lr = (tensor2img([x.detach().cpu()]) for x in self.centre_frames())
            clip, frame = val_data['clip'][0], int(val_data['frame_idx'][0])
            for name, mopt in metric_opts.items():
                per_clip[clip][name].append(calculate_metric({'img': sr, 'img2': hr}, mopt))
            if save_img:
                for kind, img in (('SLR' if self.step == 2 or self.lr_source == 'tad' else 'LR', lr), ('SHR', sr)):
                    imwrite(img, self._frame_path(dataset_name, clip, frame, kind, current_iter))
            del self.gt, self.lq, self.output, self.slr
        self.clip_results = {c: {k: sum(v) / len(v) for k, v in m.items()} for c, m in per_clip.items()}
        logger = get_root_logger()
        for clip, values in self.clip_results.items():
            logger.info(f'{dataset_name} clip {clip}: ' + ', '.join(f'{k} {v:.4f}' for k, v in values.items()))
        self.metric_results = {k: sum(c[k] for c in self.clip_results.values()) / max(len(self.clip_results), 1)
                               for k in metric_opts}
        for name, value in self.metric_results.items():
            self._update_best_metric_result(dataset_name, name, value, current_iter)
        self._log_validation_metric_values(current_iter, dataset_name, tb_logger)

    def _frame_path(self, dataset_name, clip, frame, kind, current_iter):
        vis = self.opt['path']['visualization']
        tag = current_iter if self.opt['is_train'] else (self.opt['val'].get('suffix') or self.opt['name'])
        return osp.join(vis, dataset_name, clip, f'{frame:05d}_{tag}_{kind}.png')
