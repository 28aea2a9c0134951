"""SRSEG's part of the report: besides the SR slider, the class map of the segmentation head (in the data's
palette), its overlay on the SR image and the true classes. The head runs through ``mtsr-infer``'s SRSEG runner
with ``seg=True`` (it needs the ``net_g_*.pth`` that holds the head, not the head-less ``net_g_sr_*.pth``)."""
from mtsr_plugins.report.parts.base import Part, at_size, class_pictures
from mtsr_plugins.report.parts.segmentation import ClassLegend


class SRSEGPart(ClassLegend, Part):
    method = 'SRSEG'

    def num_classes(self):
        return int(self.opt['network_g'].get('num_classes', 1))

    def extras(self, set_name, stem, sample, lr, outs):
        h, w = outs['sr'].shape[:2]
        result = self.run(lr, seg=True)
        classes = at_size(result['classes'].cpu().numpy(), h, w) if result and 'classes' in result else None
        labels = at_size(sample['label'].numpy(), h, w) if 'label' in sample else None
        return class_pictures(classes, labels, outs['sr'], self.classes(sample))
