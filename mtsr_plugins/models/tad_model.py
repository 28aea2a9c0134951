"""TADModel: trains the task-aware downscaling autoencoder (TADNet) with BasicSR's own training loop."""
from collections import OrderedDict

import torch
from basicsr.losses import build_loss
from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.utils import tensor2img
from basicsr.utils.registry import MODEL_REGISTRY

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_model_options
from mtsr_plugins.models.base_model import MTSRModel
from mtsr_plugins.utils.networks import bare

SLR_METRIC = 'psnr_slr'  # PSNR (dB) of the stored SLR against the guidance, always reported in validation


@MODEL_REGISTRY.register()
class TADModel(MTSRModel):
    """L = alpha * L1(HR, SHR) + beta * L_latent(SLR, guidance).

    Batches come from ``TADImageDataset``: ``gt`` = HR (B, 3, H, W), ``lq`` = guidance (B, 3, H/s, W/s) or, for
    colorization, (B, 1, H, W). If ``lq`` is missing the guidance is computed from ``gt`` with the network's own
    :meth:`TADNet.make_guidance`, so dataset and model always agree. ``self.output`` is SHR and ``self.slr`` the SLR.

    Options:
        train.pixel_opt: the task loss, e.g. ``L1Loss`` with ``loss_weight: 10`` (alpha).
        train.latent_opt: ``EpsilonBallL1Loss`` with ``loss_weight: 1`` (beta) and ``epsilon: 1`` (percent).
        train.grad_clip (float | None): max gradient norm; the report clips gradients but gives no value
            (default None: off).
        tad.no_tad (bool, default false): the baseline: the same decoder trained on the plain LR (SLR = guidance);
            no latent loss. With DDP set ``find_unused_parameters: true`` (the encoder is unused).
        tad.guidance_off_iter (int | None, default None): from this training iteration on, SLR = encoder(HR) alone.
        tad.quantize_from_iter (int | None, default None): from this training iteration on, SLR is rounded to 8 bit
            (straight-through gradient), so the decoder learns on real 8-bit images.
        tad.add_guidance (bool, default true): add the guidance in a test run (``is_train`` false); set false for a
            model trained past ``guidance_off_iter``. During training, validation follows the current iteration.
        tad.quantize_test (bool, default true): round SLR to 8 bit in validation / test (the image a user stores).
    """
    output_keys = ('output', 'slr')
    own_metrics = {SLR_METRIC: 'higher'}
    option_sections = {
        '': Section({'tad': Key('mapping', None, "TAD's schedule and test-time switches", keys=Section({
            'no_tad': Key('bool', False, 'the baseline: the same decoder trained on the plain LR (SLR = guidance), '
                          'no latent loss'),
            'guidance_off_iter': Key('int', None, 'from this training iteration on, SLR = encoder(HR) alone (no '
                                     'guidance added)', low=0),
            'quantize_from_iter': Key('int', None, 'from this training iteration on, the SLR is rounded to 8 bit '
                                      '(straight-through gradient)', low=0),
            'add_guidance': Key('bool', True, 'add the guidance in a test run (false for a model trained past '
                                'guidance_off_iter)'),
            'quantize_test': Key('bool', True, 'round the SLR to 8 bit in validation and tests (the image a user '
                                 'stores)'),
        }))}),
        'train': Section({
            'latent_opt': Key('mapping', None, 'the latent loss between SLR and guidance (EpsilonBallL1Loss; beta = '
                              'its loss_weight); off with tad.no_tad', typed='loss'),
            'grad_clip': Key('number', None, 'largest gradient norm (the report clips but gives no value; ~: off)',
                             low=0, low_open=True),
        }),
    }

    def __init__(self, opt):
        check_model_options(type(self), opt)
        tad = opt.get('tad') or {}
        self.no_tad = bool(tad.get('no_tad', False))
        self.guidance_off_iter = tad.get('guidance_off_iter')
        self.quantize_from_iter = tad.get('quantize_from_iter')
        self.add_guidance_test = bool(tad.get('add_guidance', True))
        self.quantize_test = bool(tad.get('quantize_test', True))
        self.current_iter = 0
        super().__init__(opt)
        self._check_consistency()

    # ----------------------------------------------------------------------------------------------- set-up
    def _check_consistency(self):
        net = bare(self.net_g)
        if not all(hasattr(net, a) for a in ('encode', 'decode', 'make_guidance')):
            raise TypeError(f'TADModel: network_g must be a TADNet (encode/decode/make_guidance), got '
                            f'{type(net).__name__}')
        if net.task == 'sr' and net.scale != self.opt.get('scale'):
            raise OptionError(f'TADModel: network_g.scale {net.scale} != top-level scale {self.opt.get("scale")}')
        for name, dopt in (self.opt.get('datasets') or {}).items():
            if dopt.get('type') != 'TADImageDataset':
                continue
            for key, mine in (('task', net.task), ('guidance_resize', net.guidance_resize)):
                theirs = dopt.get(key, 'sr' if key == 'task' else 'matlab_bicubic')
                if theirs != mine:
                    raise OptionError(f'TADModel: datasets.{name}.{key} = {theirs!r} but network_g has {mine!r}; the '
                                      'guidance must be made the same way in the dataset and the model')

    def init_training_settings(self):
        super().init_training_settings()  # pixel loss (alpha), optimizer, scheduler
        latent_opt = self.opt['train'].get('latent_opt')
        if self.no_tad or not latent_opt:
            self.cri_latent = None
        else:
            self.cri_latent = build_loss(latent_opt).to(self.device)
        self.grad_clip = self.opt['train'].get('grad_clip')

    # ----------------------------------------------------------------------------------------------- schedule
    def guidance_on(self, current_iter=None):
        """Whether SLR = encoder(HR) + guidance at this iteration (test runs: option tad.add_guidance)."""
        if not self.is_train:
            return self.add_guidance_test
        it = self.current_iter if current_iter is None else current_iter
        return self.guidance_off_iter is None or it < self.guidance_off_iter

    def quantize_on(self, current_iter):
        """Whether the training SLR is rounded to 8 bit at this iteration."""
        return self.quantize_from_iter is not None and current_iter >= self.quantize_from_iter

    # ----------------------------------------------------------------------------------------------- hooks
    def feed_data(self, data):
        if 'gt' not in data:
            raise KeyError('TADModel: the batch has no "gt": TAD encodes the HR image, so every dataset '
                           '(train, val, test) needs HR images (use TADImageDataset)')
        super().feed_data(data)
        if 'lq' not in data:
            self.lq = bare(self.net_g).make_guidance(self.gt)

    def _run(self, net, add_guidance, quantize):
        return net(self.gt, guidance=self.lq, add_guidance=add_guidance, quantize=quantize, no_tad=self.no_tad,
                   return_slr=True)

    def optimize_parameters(self, current_iter):
        self.current_iter = current_iter
        self.slr, self.output = self._run(self.net_g, self.guidance_on(current_iter), self.quantize_on(current_iter))

        loss_dict = OrderedDict()
        l_total = self.cri_pix(self.output, self.gt)
        loss_dict['l_pix'] = l_total
        if self.cri_latent is not None:
            l_latent = self.cri_latent(self.slr, self.lq)
            l_total = l_total + l_latent
            loss_dict['l_latent'] = l_latent
            loss_dict['eps_ratio'] = torch.tensor(self.cri_latent.last_ratio, device=self.device)
        self.backward_step(l_total, [self.optimizer_g], self.net_g.parameters(), self.grad_clip)
        self.log_dict = self.reduce_loss_dict(loss_dict)

    def forward_test(self, net):
        self.slr, self.output = self._run(net, self.guidance_on(), self.quantize_test)

    def get_current_visuals(self):
        out = super().get_current_visuals()
        out['slr'] = self.slr.detach().cpu()
        return out

    # ----------------------------------------------------------------------------------------------- validation
    def validation_sample(self, i, pred):
        """PSNR/SSIM (``val.metrics``) of SHR against HR, and ``psnr_slr`` of the 8-bit SLR against the guidance;
        the images saved are SLR (the image a user would store) and SHR."""
        sample = super().validation_sample(i, pred)
        slr_img, guide_img = tensor2img(self.slr[i].cpu()), tensor2img(self.lq[i].cpu())
        sample['values'] = {SLR_METRIC: calculate_psnr(slr_img, guide_img, crop_border=0)}
        sample['images'] = {'_SLR': slr_img, '_SHR': sample['img']}
        return sample
