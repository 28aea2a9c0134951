"""SSG-RWSR (Aakerberg et al.): real-world SR guided by a semantic segmentation network, with domain adaptation.

Training alternates, by iteration number (BasicSR counts from 1), over ``train.phases`` (default [real, synthetic];
optionally after ``train.synthetic_warmup_iter`` synthetic-only iterations, default 0):
* 'real' (odd iterations): real LR + labels, no GT. L = lambda_ce CE(SS(SR(lq_real)), label); updates SR and, when
  ``train.update_seg`` (default true), SS.
* 'synthetic' (even iterations): a domain-adapted LR/HR pair. L = 0.01 L1 + 0.1 LPIPS (``pixel_opt``,
  ``perceptual_opt``); updates SR only (SS is not run).
The phase is a function of ``current_iter`` only, so a resumed run continues the alternation where it stopped; both
optimizers (and schedulers) live in ``self.optimizers`` and so in BasicSR's ``.state``.

Under ``train.amp`` the segmenter runs in fp32 (autocast off for it; SR and the losses of the synthetic steps stay
in the lower precision) unless ``train.amp_segmenter: true``: with HRNet under bf16 the CPU demo lost 0.64 dB of
SR PSNR over 8 seeds, with HRNet in fp32 0.10 dB (docs/gpu_training.md).

The CE is the loss module ``self.cri_ce`` (like ``cri_pix`` / ``cri_perceptual``), so the launcher's non-finite
loss guard sees every loss. Labels are checked against ``network_s.num_classes`` when a batch is fed (the error
names the label file). DDP: net_g and net_s are separate DDP modules; SS runs no forward in synthetic steps, which
DDP allows without ``find_unused_parameters``.

The train dataset must give both kinds of data in every batch (see ``SSGRWSRTrainDataset``): ``lq_real`` + ``label``
and ``lq`` + ``gt``. At inference only SR runs (``test``). Validation reports, per data set, the image metrics of
``val.metrics`` (PSNR, SSIM, LPIPS, ...) when it has ``gt``, and mIoU / pixel accuracy of SS(SR(lq)) (summed
confusion matrix) when it has ``label`` and ``network_s`` is configured; it saves the SR image and a segmentation
overlay.
"""
from collections import OrderedDict

import torch
from basicsr.archs import build_network
from basicsr.utils.registry import MODEL_REGISTRY

from mtsr_plugins.checks import basicsr_keys
from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.checks.options import check_model_options
from mtsr_plugins.models.base_model import MTSRModel
from mtsr_plugins.utils.networks import bare, evaluating

PHASES = ('real', 'synthetic')


def phase_of(current_iter, phases=PHASES, synthetic_warmup_iter=0):
    """The phase of a (1-based) iteration: phases[(current_iter - 1) % len(phases)] (odd -> real by default).

    Iterations <= ``synthetic_warmup_iter`` are all 'synthetic' (a stand-in for the paper's pretrained SR network
    when training from scratch); the alternation then goes on by the iteration number itself."""
    if int(current_iter) <= synthetic_warmup_iter:
        return 'synthetic'
    return phases[(int(current_iter) - 1) % len(phases)]


@MODEL_REGISTRY.register()
class SSGRWSRModel(MTSRModel):
    """SR network ``network_g`` (RRDBNet) guided by segmentation network ``network_s`` (HRNetSegNet)."""
    batch_keys = ('lq', 'gt', 'lq_real', 'label')
    option_sections = {'train': Section({
        'phases': Key('list', list(PHASES), "the alternation of steps, by iteration: 'real' (CE of the segmenter on "
                      "SR(real LR)) and 'synthetic' (L1 + LPIPS on a domain-adapted pair)", item=Key('str', choices=PHASES)),
        'synthetic_warmup_iter': Key('int', 0, 'the first iterations are all synthetic steps (a stand-in for the '
                                     "paper's pretrained SR network)", low=0),
        'update_seg': Key('bool', True, 'train the segmenter in the real steps too (false: frozen, eval mode)'),
        'ce_opt': Key('mapping', None, 'the cross-entropy of the real steps', keys=Section({
            'loss_weight': Key('number', 0.01, 'lambda_ce', low=0),
            'ignore_index': Key('int', 255, 'label value left out of the loss', low=0)})),
        'optim_s': Key('mapping', None, "the segmenter's optimizer (default Adam, lr 1e-4), as train.optim_g",
                       keys=basicsr_keys.MODELS['SRModel']['train'].keys['optim_g'].keys),
        'amp_segmenter': Key('bool', False, 'under train.amp run the segmenter in the lower precision too (default: '
                             'fp32; bf16 cost the demo 0.64 dB)'),
    })}

    @classmethod
    def check_training(cls, train_opt, section):
        if not section.get('network_s'):
            raise OptionError('required by SSGRWSRModel (the segmentation network, e.g. type HRNetSegNet)',
                              path='network_s')
        if not train_opt.get('phases', PHASES):
            raise OptionError(f'expected a non-empty list of {PHASES}', path='train.phases')

    def __init__(self, opt):
        check_model_options(type(self), opt)
        self.amp_segmenter = bool((opt.get('train') or {}).get('amp_segmenter', False))
        super().__init__(opt)  # builds net_g; in training, init_training_settings builds net_s
        if not hasattr(self, 'net_s') and opt.get('network_s'):
            self._build_net_s()  # test / inference: SS only for the mIoU of labelled validation data

    def _build_net_s(self):
        self.net_s = self.model_to_device(build_network(self.opt['network_s']))
        self.print_network(self.net_s)
        load_path = self.opt['path'].get('pretrain_network_s')
        if load_path is not None:
            self.load_network(self.net_s, load_path, self.opt['path'].get('strict_load_s', True),
                              self.opt['path'].get('param_key_s', 'params'))

    # ------------------------------------------------------------------ training set-up
    def init_training_settings(self):
        train_opt = self.opt['train']  # values checked by check_options
        self.phases = tuple(train_opt.get('phases', PHASES))
        self.synthetic_warmup_iter = train_opt.get('synthetic_warmup_iter', 0)
        self.update_seg = bool(train_opt.get('update_seg', True))
        ce_opt = train_opt.get('ce_opt') or {}
        self.ce_weight = float(ce_opt.get('loss_weight', 0.01))
        self.ignore_index = int(ce_opt.get('ignore_index', 255))
        self.cri_ce = torch.nn.CrossEntropyLoss(ignore_index=self.ignore_index).to(self.device)
        self._build_net_s()
        if self.update_seg:
            self.net_s.train()
        else:  # frozen segmenter: fixed BN statistics, no gradients for its weights
            self.net_s.eval()
            self.net_s.requires_grad_(False)
        self._last_logs = {}
        super().init_training_settings()  # EMA, pixel_opt, perceptual_opt, optimizers, schedulers

    def setup_optimizers(self):
        super().setup_optimizers()  # optimizer_g from train.optim_g
        if self.update_seg:
            optim_opt = dict(self.opt['train'].get('optim_s') or {'type': 'Adam', 'lr': 1e-4})
            optim_type = optim_opt.pop('type')
            params = [p for p in self.net_s.parameters() if p.requires_grad]
            self.optimizer_s = self.get_optimizer(optim_type, params, **optim_opt)
            self.optimizers.append(self.optimizer_s)

    # ------------------------------------------------------------------ data and steps
    def label_spec(self):
        if not hasattr(self, 'net_s'):
            return None
        ignore_index = getattr(self, 'ignore_index', (self.opt.get('val') or {}).get('ignore_index', 255))
        return bare(self.net_s).num_classes, ignore_index

    def optimize_parameters(self, current_iter):
        phase = phase_of(current_iter, self.phases, self.synthetic_warmup_iter)
        if phase == 'real':
            logs = self._step_real()
        else:
            logs = self._step_synthetic()
        self._last_logs.update(self.reduce_loss_dict(logs))
        self.log_dict = OrderedDict(self._last_logs)  # the latest value of every loss, whichever phase ran last
        self.last_phase = phase

    def _require(self, phase, *names):
        missing = [n for n in names if not hasattr(self, n)]
        if missing:
            raise KeyError(f"SSGRWSRModel: a '{phase}' step needs batch keys {list(names)}, missing {missing}; use "
                           'datasets.train.type SSGRWSRTrainDataset (real + synthetic parts)')

    def _step_real(self):
        """CE(SS(SR(lq_real)), label) x lambda_ce -> SR (and SS)."""
        self._require('real', 'lq_real', 'label')
        self.output = self.net_g(self.lq_real)
        logits = self.run_segmenter(self.output)
        if logits.shape[-2:] != self.label.shape[-2:]:
            raise ValueError(f'SR output {tuple(self.output.shape[-2:])} and label {tuple(self.label.shape[-2:])} '
                             'differ in size: labels must be at HR size (LR size x scale)')
        l_ce = self.ce_weight * self.cri_ce(logits, self.label.long())
        self.backward_step(l_ce, [self.optimizer_g] + ([self.optimizer_s] if self.update_seg else []))
        return OrderedDict(l_ce=l_ce)

    def _step_synthetic(self):
        """lambda_pix L1 + lambda_lpips LPIPS on a domain-adapted pair -> SR only."""
        self._require('synthetic', 'lq', 'gt')
        self.output = self.net_g(self.lq)
        logs = OrderedDict()
        l_total = 0
        if self.cri_pix:
            logs['l_pix'] = self.cri_pix(self.output, self.gt)
            l_total = l_total + logs['l_pix']
        if self.cri_perceptual:
            l_percep = self.cri_perceptual(self.output, self.gt)
            if isinstance(l_percep, tuple):  # BasicSR's PerceptualLoss gives (perceptual, style)
                l_percep = sum(x for x in l_percep if x is not None)
            logs['l_percep'] = l_percep
            l_total = l_total + l_percep
        self.backward_step(l_total, [self.optimizer_g])
        return logs

    def save(self, epoch, current_iter):
        self.save_network(self.net_s, 'net_s', current_iter)  # before the .state file that resume looks for
        super().save(epoch, current_iter)

    def run_segmenter(self, sr, net_s=None):
        """Class logits (B, C, H, W) of SS on an SR batch (B, 3, H, W); in fp32 under autocast unless
        ``train.amp_segmenter``."""
        net_s = self.net_s if net_s is None else net_s
        if self.amp_segmenter or not torch.is_autocast_enabled(sr.device.type):
            return net_s(sr)
        with torch.autocast(sr.device.type, enabled=False):
            return net_s(sr.float())

    # ------------------------------------------------------------------ validation
    def segment(self, sr):
        """Class map (B, H, W) int64 of SS on an SR batch (B, 3, H, W); SS in eval mode for the call."""
        net_s = bare(self.net_s)
        with evaluating(net_s):
            return self.run_segmenter(sr, net_s).argmax(1)

    def predict_classes(self):
        """SS(SR(lq)) of a labelled batch (mIoU / pixel accuracy, and the ``*_seg.png`` overlay)."""
        if hasattr(self, 'net_s') and getattr(self, 'label', None) is not None:
            return self.segment(self.output)
        return None
