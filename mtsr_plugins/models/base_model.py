"""What the package's four models share, on top of BasicSR's SRModel (registered nowhere itself).

Each model subclasses :class:`MTSRModel` (SRSEG puts SRGANModel after it: ``class SRSEGModel(MTSRModel,
SRGANModel)``) and keeps only what is its own, in hooks:

* ``batch_keys`` / ``output_keys``: the tensors a batch brings and a forward leaves on the model; :meth:`feed_data`
  moves the first to the device (a key the batch lacks is removed, never left over from an earlier batch) and
  validation drops both after each batch.
* :meth:`forward_test`: the forward of :meth:`test` (which runs the bare EMA-or-live network in eval mode, without
  gradients, and restores the train flag).
* :meth:`label_spec` and :meth:`predict_classes`: whether the model predicts classes (then label ids are checked on
  every batch and label metrics are scored), and the class map / ids of the batch just tested.
* :meth:`validation_sample`: metric inputs and images to save for one sample (per-sample hook);
  ``own_metrics`` names values the model reports besides ``val.metrics`` (per-dataset results come from
  :class:`~mtsr_plugins.metrics.dataset_metric.DatasetMetrics`).

Training steps end in :meth:`backward_step` (zero grads, backward, optional clipping, optimizer steps, EMA): the one
place where a mixed-precision wrapper scales losses and unscales gradients.
"""
from os import path as osp

import numpy as np
import torch
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger, imwrite, tensor2img
from tqdm import tqdm

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.data.batched_degradations import lq_from_draws
from mtsr_plugins.metrics.dataset_metric import DatasetMetrics
from mtsr_plugins.utils.input_checks import check_label_ids
from mtsr_plugins.utils.networks import bare, evaluating
from mtsr_plugins.utils.seg_vis import default_palette, overlay


def training_section(opt):
    """``opt['train']`` of a training run's option dict; None for a test run (no training options to check)."""
    train_opt = opt.get('train') or {}
    return train_opt if opt.get('is_train', True) and train_opt else None


class MTSRModel(SRModel):
    batch_keys = ('lq', 'gt', 'label')
    output_keys = ('output', )
    own_metrics = {}  # name -> 'higher' | 'lower': values the model reports besides val.metrics
    # the keys this class reads beyond BasicSR's SRModel (see mtsr_plugins.checks.known_keys)
    option_sections = {'val': Section({
        'ignore_index': Key('int', 255, 'label value left out of the label metrics (mIoU, pixel accuracy) when the '
                            'model does not name one', low=0),
        'save_seg': Key('bool', None, 'write a segmentation overlay <image>_seg.png next to each SR image that has a '
                        'class map (default: val.save_img)'),
        'palette': Key('list', None, 'RGB colour [r, g, b] (0..255) of each class in the overlays (default: a fixed '
                       'palette)', item=Key('list', length=3)),
    })}

    @classmethod
    def check_options(cls, section, path='', opt=None):
        """Run before anything is built (:mod:`mtsr_plugins.checks.hooks`; ``section`` is the whole option dict: a
        model reads several sections): :meth:`check_model`, and :meth:`check_training` in a training run.
        Subclasses override those two, so that every level's checks run."""
        cls.check_model(section)
        train_opt = training_section(section)
        if train_opt is not None:
            cls.check_training(train_opt, section)

    @classmethod
    def check_model(cls, opt):
        """Cross-key checks of the whole option dict ``opt`` (test and training runs)."""

    @classmethod
    def check_training(cls, train_opt, section):
        """Checks of ``train_opt`` (= ``section['train']``) against the whole option dict ``section``."""

    # ---- data and networks ----------------------------------------------------------------------------------------
    def feed_data(self, data):
        for key in self.batch_keys:
            if key in data:
                setattr(self, key, data[key].to(self.device))
            elif hasattr(self, key):
                delattr(self, key)
        if 'kernel' in data and 'lq' not in data:  # DegradedPairDataset(degrade_in_model): degrade on the device
            self.lq = lq_from_draws(data, self.gt, self.opt['scale'])
        if getattr(self, 'label', None) is not None:
            self._check_label_ids(data)

    def label_spec(self):
        """(num_classes, ignore_index) of the classes this model predicts; None when it predicts none."""
        return None

    def _check_label_ids(self, data):
        """Class ids outside 0..num_classes-1 (other than ignore_index) name the label file, before any loss runs."""
        spec = self.label_spec()
        if spec is None:
            return
        num_classes, ignore_index = spec
        if ((self.label != ignore_index) & ((self.label < 0) | (self.label >= num_classes))).any():
            paths = (data.get('label_path') or data.get('lq_real_path') or data.get('lq_path')
                     or ['<batch>'] * len(self.label))
            for label, path in zip(self.label, paths):
                check_label_ids(label.cpu().numpy(), num_classes, ignore_index, path)

    def inference_net(self, name='net_g'):
        """The bare network that inference runs: the EMA copy when there is one."""
        return bare(getattr(self, f'{name}_ema') if hasattr(self, f'{name}_ema') else getattr(self, name))

    # ---- training -------------------------------------------------------------------------------------------------
    def backward_step(self, loss, optimizers, clip_params=None, max_norm=None):
        """Zero the gradients, backward ``loss``, clip the norm of ``clip_params`` to ``max_norm`` (when given), step
        every optimizer, then update the EMA network. Forward passes never touch gradients, so zeroing here equals
        zeroing before the forward. With ``datasets.train.accum_iter`` (:mod:`mtsr_plugins.utils.grad_accumulation`)
        the gradients add up over the micro-batches: zeroed on the first, averaged, clipped and stepped on the last."""
        for optimizer in optimizers:
            optimizer.zero_grad()
        loss.backward()
        accumulation = getattr(self, 'grad_accumulation', None)
        if accumulation is not None:
            if not accumulation.stepping:
                return
            accumulation.average(optimizers)
        if max_norm:
            scaler = getattr(self, 'grad_scaler', None)  # train.amp: fp16 scales gradients; clip the true ones
            for optimizer in optimizers if scaler else ():
                scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(list(clip_params), float(max_norm))
        for optimizer in optimizers:
            optimizer.step()
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    # ---- inference ------------------------------------------------------------------------------------------------
    def test(self):
        """:meth:`forward_test` on the bare inference network, in eval mode and without gradients."""
        net = self.inference_net()
        with evaluating(net):
            self.forward_test(net)

    def forward_test(self, net):
        """SR (N, C, H, W) of ``self.lq`` (N, C, h, w) -> ``self.output``."""
        self.output = net(self.lq)

    def predict_classes(self):
        """Class ids of the batch just tested ((N,) or (N, h, w) int tensor), or None (per-batch hook)."""
        return None

    # ---- validation -----------------------------------------------------------------------------------------------
    def validation_sample(self, i, pred):
        """Per-sample hook: a dict for sample ``i`` of the tested batch with ``img`` (SR, uint8 BGR), ``img2`` (GT)
        when the batch has ``gt``, ``pred`` / ``label`` (numpy) when there are predictions / labels, ``values``
        (own metrics) and ``images`` {file suffix: uint8 BGR image} to save."""
        sample = {'img': tensor2img(self.output[i].detach().cpu())}
        sample['images'] = {'': sample['img']}
        if getattr(self, 'gt', None) is not None:
            sample['img2'] = tensor2img(self.gt[i].detach().cpu())
        if pred is not None:
            sample['pred'] = pred[i].cpu().numpy()
        if getattr(self, 'label', None) is not None:
            sample['label'] = self.label[i].cpu().numpy()
        return sample

    def _initialize_best_metric_results(self, dataset_name):
        if not hasattr(self, 'best_metric_results'):
            self.best_metric_results = {}
        record = self.best_metric_results.setdefault(dataset_name, {})
        metrics = {name: opt.get('better', 'higher') for name, opt in (self.opt['val'].get('metrics') or {}).items()}
        for name, better in {**metrics, **self.own_metrics}.items():
            record.setdefault(name, dict(better=better, val=float('-inf' if better == 'higher' else 'inf'), iter=-1))

    def nondist_validation(self, dataloader, current_iter, tb_logger, save_img):
        """BasicSR's validation loop (``val.pbar``, CUDA cache emptied per batch) over the hooks above; metrics as
        :mod:`mtsr_plugins.metrics.dataset_metric` defines them; ``val.save_seg`` (default ``save_img``) writes a
        segmentation overlay ``*_seg.png`` for 2-D class maps."""
        dataset_name = dataloader.dataset.opt['name']
        val_opt = self.opt['val']
        num_classes, ignore_index = self.label_spec() or (None, val_opt.get('ignore_index', 255))
        metrics = DatasetMetrics(val_opt.get('metrics'), num_classes, ignore_index)
        save_seg = val_opt.get('save_seg', save_img)
        pbar = tqdm(total=len(dataloader), unit='image') if val_opt.get('pbar', False) else None
        for val_data in dataloader:
            self.feed_data(val_data)
            self.test()
            pred = self.predict_classes()
            for i, path in enumerate(val_data.get('lq_path') or val_data['gt_path']):
                img_name = osp.splitext(osp.basename(path))[0]
                sample = self.validation_sample(i, pred)
                metrics.add(**sample)
                self._save_sample(sample, dataset_name, img_name, current_iter, save_img, save_seg, num_classes)
            for key in self.batch_keys + self.output_keys:
                if hasattr(self, key):
                    delattr(self, key)
            torch.cuda.empty_cache()
            if pbar is not None:
                pbar.update(1)
                pbar.set_description(f'Test {img_name}')
        if pbar is not None:
            pbar.close()
        self._report(metrics, dataset_name, current_iter, tb_logger)

    def _report(self, metrics, dataset_name, current_iter, tb_logger):
        """Per-dataset step: results, best values, the log lines; configured metrics without data are named."""
        if metrics.missing():
            get_root_logger().warning(f'{dataset_name}: no data for val.metrics {metrics.missing()} (they need GT '
                                      'images, or labels and a model that predicts classes)')
        self.metric_results = metrics.results()
        if not self.metric_results:
            return
        self._initialize_best_metric_results(dataset_name)
        for name, value in self.metric_results.items():
            self._update_best_metric_result(dataset_name, name, value, current_iter)
        self._log_validation_metric_values(current_iter, dataset_name, tb_logger)

    def _save_sample(self, sample, dataset_name, img_name, current_iter, save_img, save_seg, num_classes):
        if save_img:
            for suffix, img in sample['images'].items():
                imwrite(img, self._image_path(dataset_name, img_name, current_iter, suffix))
        pred = sample.get('pred')
        if save_seg and pred is not None and pred.ndim == 2:  # class map: upsample (nearest) to the SR image
            img = sample['img']
            factor = img.shape[0] // pred.shape[0]
            up = np.kron(pred, np.ones((factor, factor), pred.dtype))[:img.shape[0], :img.shape[1]]
            palette = np.asarray(self.opt['val'].get('palette') or default_palette(num_classes))
            vis = overlay(img[..., ::-1], up, palette)  # overlay works in RGB
            imwrite(vis[..., ::-1], self._image_path(dataset_name, img_name, current_iter, '_seg'))

    def _image_path(self, dataset_name, img_name, current_iter, suffix=''):
        """BasicSR's file names: <vis>/<img>/<img>_<iter><suffix>.png in training, else
        <vis>/<dataset>/<img>_<val.suffix or name><suffix>.png."""
        if self.opt['is_train']:
            return osp.join(self.opt['path']['visualization'], img_name, f'{img_name}_{current_iter}{suffix}.png')
        tag = self.opt['val'].get('suffix') or self.opt['name']
        return osp.join(self.opt['path']['visualization'], dataset_name, f'{img_name}_{tag}{suffix}.png')
