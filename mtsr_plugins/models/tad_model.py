"""TADModel: trains the task-aware downscaling autoencoder (TADNet) with BasicSR's own training loop."""
from collections import OrderedDict
from os import path as osp

import torch

from basicsr.losses import build_loss
from basicsr.metrics import calculate_metric
from basicsr.metrics.psnr_ssim import calculate_psnr
from basicsr.models.sr_model import SRModel
from basicsr.utils import imwrite, tensor2img
from basicsr.utils.registry import MODEL_REGISTRY

from mtsr_plugins.options_check import OptionError, check_number

SLR_METRIC = 'psnr_slr'  # PSNR (dB) of the stored SLR against the guidance, always reported in validation


@MODEL_REGISTRY.register()
class TADModel(SRModel):
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

    @classmethod
    def check_options(cls, section, path='', opt=None):
        """Option checks, run by :func:`mtsr_plugins.options_check.check_options` before anything is built
        (``section`` is the whole option dict: a model reads several sections)."""
        for key in ('guidance_off_iter', 'quantize_from_iter'):
            check_number(section.get('tad') or {}, 'tad', key, low=0, kind=int, allow_none=True)

    def __init__(self, opt):
        self.check_options(opt)
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
        net = self.get_bare_model(self.net_g)
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
        self.gt = data['gt'].to(self.device)
        if 'lq' in data:
            self.lq = data['lq'].to(self.device)
        else:
            self.lq = self.get_bare_model(self.net_g).make_guidance(self.gt)

    def _run(self, net, add_guidance, quantize):
        return net(self.gt, guidance=self.lq, add_guidance=add_guidance, quantize=quantize, no_tad=self.no_tad,
                   return_slr=True)

    def optimize_parameters(self, current_iter):
        self.current_iter = current_iter
        self.optimizer_g.zero_grad()
        self.slr, self.output = self._run(self.net_g, self.guidance_on(current_iter), self.quantize_on(current_iter))

        loss_dict = OrderedDict()
        l_total = self.cri_pix(self.output, self.gt)
        loss_dict['l_pix'] = l_total
        if self.cri_latent is not None:
            l_latent = self.cri_latent(self.slr, self.lq)
            l_total = l_total + l_latent
            loss_dict['l_latent'] = l_latent
            loss_dict['eps_ratio'] = torch.tensor(self.cri_latent.last_ratio, device=self.device)
        l_total.backward()
        if self.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.net_g.parameters(), float(self.grad_clip))
        self.optimizer_g.step()
        self.log_dict = self.reduce_loss_dict(loss_dict)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    def test(self):
        # the bare network: under DDP validation runs on rank 0 alone (a DDP forward there could wait on the others)
        net = self.get_bare_model(getattr(self, 'net_g_ema', self.net_g))
        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.slr, self.output = self._run(net, self.guidance_on(), self.quantize_test)
        net.train(was_training)

    def get_current_visuals(self):
        out = super().get_current_visuals()
        out['slr'] = self.slr.detach().cpu()
        return out

    # ----------------------------------------------------------------------------------------------- validation
    def _initialize_best_metric_results(self, dataset_name):
        super()._initialize_best_metric_results(dataset_name)
        self.best_metric_results[dataset_name].setdefault(SLR_METRIC, dict(better='higher', val=float('-inf'),
                                                                           iter=-1))

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """PSNR/SSIM (``val.metrics``) of SHR against HR, and ``psnr_slr`` of the 8-bit SLR against the guidance.

        With ``save_img`` both SLR (the image a user would store) and SHR are written as PNG.
        """
        dataset_name = dataloader.dataset.opt['name']
        metric_opts = self.opt['val'].get('metrics') or {}
        self._initialize_best_metric_results(dataset_name)
        sums = dict.fromkeys(list(metric_opts) + [SLR_METRIC], 0.)
        count = 0
        for val_data in dataloader:
            img_name = osp.splitext(osp.basename(val_data['gt_path'][0]))[0]
            self.feed_data(val_data)
            self.test()
            shr_img, gt_img = tensor2img([self.output.cpu()]), tensor2img([self.gt.cpu()])
            slr_img, guide_img = tensor2img([self.slr.cpu()]), tensor2img([self.lq.cpu()])
            for name, mopt in metric_opts.items():
                sums[name] += calculate_metric({'img': shr_img, 'img2': gt_img}, mopt)
            sums[SLR_METRIC] += calculate_psnr(slr_img, guide_img, crop_border=0)
            if save_img:
                for kind, img in (('SLR', slr_img), ('SHR', shr_img)):
                    imwrite(img, self._image_path(dataset_name, img_name, kind, current_iter))
            count += 1
            del self.gt, self.lq, self.output, self.slr
        self.metric_results = {k: v / max(count, 1) for k, v in sums.items()}
        for name, value in self.metric_results.items():
            self._update_best_metric_result(dataset_name, name, value, current_iter)
        self._log_validation_metric_values(current_iter, dataset_name, tb_logger)

    def _image_path(self, dataset_name, img_name, kind, current_iter):
        vis = self.opt['path']['visualization']
        if self.opt['is_train']:
            return osp.join(vis, img_name, f'{img_name}_{current_iter}_{kind}.png')
        suffix = self.opt['val'].get('suffix') or self.opt['name']
        return osp.join(vis, dataset_name, f'{img_name}_{suffix}_{kind}.png')
