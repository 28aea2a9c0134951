"""Data-set values of the ``val.metrics`` options: the one rule that every model of the package follows.

* Image metrics (BasicSR's ``img``/``img2`` functions: PSNR, SSIM, LPIPS, ...) are averaged over the images, as
  BasicSR's own validation does. They need a ground-truth image.
* Label metrics are the registered functions that carry ``from_confusion`` (mIoU, pixel accuracy, classification
  accuracy). They read class predictions and labels; their data-set value is ``from_confusion`` of the confusion
  matrix summed over the whole data set (so the mIoU is the data-set mIoU, not a mean of per-image mIoUs).
"""
from basicsr.metrics import calculate_metric
from basicsr.utils.registry import METRIC_REGISTRY

from mtsr_plugins.metrics.segmentation_metric import confusion_matrix


def uses_labels(metric_opt):
    """Whether the metric option ``{'type': ..., ...}`` reads class predictions and labels rather than images."""
    return hasattr(METRIC_REGISTRY.get(metric_opt['type']), 'from_confusion')


class DatasetMetrics:
    """Accumulates the metrics of one data set, sample by sample.

    Args:
        metric_opts (dict): name -> BasicSR metric option (``val.metrics``).
        num_classes (int | None): classes of the predictions (label metrics need it; an option's own
            ``num_classes`` wins).
        ignore_index (int): label value left out of label metrics (an option's own ``ignore_index`` wins).
    """

    def __init__(self, metric_opts, num_classes=None, ignore_index=255):
        self.opts = dict(metric_opts or {})
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.sums, self.counts, self.confusions = {}, {}, {}

    def add_value(self, name, value):
        """One per-sample value of ``name``; its data-set value is the mean."""
        self.sums[name] = self.sums.get(name, 0.0) + value
        self.counts[name] = self.counts.get(name, 0) + 1

    def add(self, img=None, img2=None, pred=None, label=None, values=None, **_):
        """One sample: SR image ``img`` and ground truth ``img2`` (HxW[x3] uint8 BGR), class map / class id
        ``pred`` and ``label`` (same shape, ints), ``values`` {name: float} of the model's own metrics. Missing
        inputs (None) leave the metrics that need them untouched."""
        for name, opt in self.opts.items():
            if not uses_labels(opt) and img is not None and img2 is not None:
                self.add_value(name, calculate_metric({'img': img, 'img2': img2}, opt))
            elif uses_labels(opt) and pred is not None and label is not None:
                num_classes = opt.get('num_classes', self.num_classes)
                conf = confusion_matrix(pred, label, num_classes, opt.get('ignore_index', self.ignore_index))
                self.confusions[name] = self.confusions.get(name, 0) + conf
        for name, value in (values or {}).items():
            self.add_value(name, value)

    def results(self):
        """{name: data-set value} of every metric that received data (options order, then own values)."""
        out = {}
        for name in list(self.opts) + [n for n in self.sums if n not in self.opts]:
            if name in self.confusions:
                out[name] = METRIC_REGISTRY.get(self.opts[name]['type']).from_confusion(self.confusions[name])
            elif name in self.sums:
                out[name] = self.sums[name] / self.counts[name]
        return out

    def missing(self):
        """Names of configured metrics that received no data (no ground truth, no labels or no predictions)."""
        return [name for name in self.opts if name not in self.sums and name not in self.confusions]

