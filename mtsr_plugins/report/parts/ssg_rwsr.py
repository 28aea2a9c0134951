"""SSG-RWSR's part of the report: the SR slider on the (degraded) real LR, and the segmenter's class map of the
SR image, its overlay and the true classes. The class map is read back from the ``*_seg.png`` overlay the test run
wrote over its SR image (:func:`~mtsr_plugins.utils.seg_vis.labels_from_overlay`); where there is none, the
segmenter runs here (``network_s`` with the newest ``net_s_*.pth``, as in its validation)."""
import torch

from mtsr_plugins.report.images import read_rgb
from mtsr_plugins.report.parts.base import Part, at_size, class_pictures
from mtsr_plugins.report.parts.segmentation import ClassLegend


class SSGRWSRPart(ClassLegend, Part):
    method = 'SSG-RWSR'
    _segmenter = False

    def num_classes(self):
        return int((self.opt.get('network_s') or {}).get('num_classes', 1))

    def segmenter(self):
        """The trained ``network_s`` in eval mode, or None (with a note)."""
        if self._segmenter is False:
            import os

            from basicsr.archs import build_network

            from mtsr_plugins.inference.loading import newest_weights, weights_params
            self._segmenter = None
            path = newest_weights(os.path.join(self.exp.folder, 'models'), 'net_s')
            if path is None or not self.opt.get('network_s'):
                self.notes.append('no segmenter weights (models/net_s_*.pth): no class maps')
            else:
                try:
                    net = build_network(dict(self.opt['network_s']))
                    net.load_state_dict(weights_params(path), strict=True)
                    self._segmenter = net.eval()
                except Exception as err:  # noqa: BLE001
                    self.notes.append(f'segmenter not loaded ({str(err).splitlines()[0][:200]})')
        return self._segmenter

    def recorded_classes(self, set_name, stem, sr):
        """The class map behind the recorded overlay of the recorded SR image, or None."""
        from mtsr_plugins.utils.seg_vis import default_palette, labels_from_overlay
        path, sr_path = self.recorded(set_name, stem, '_seg'), self.recorded(set_name, stem)
        if not path or not sr_path:
            return None
        palette = (self.opt.get('val') or {}).get('palette') or default_palette(self.num_classes())
        blended = read_rgb(path)
        return None if blended is None or blended.shape != sr.shape else labels_from_overlay(blended, sr, palette)

    def extras(self, set_name, stem, sample, lr, outs):
        h, w = outs['sr'].shape[:2]
        classes = self.recorded_classes(set_name, stem, outs['sr'])
        net = self.segmenter() if classes is None else None
        if net is not None:
            x = torch.from_numpy(outs['sr']).permute(2, 0, 1)[None].float() / 255
            with torch.inference_mode():
                classes = net(x).argmax(1)[0].numpy()
        labels = at_size(sample['label'].numpy(), h, w) if 'label' in sample else None
        return class_pictures(classes, labels, outs['sr'], self.classes(sample))
