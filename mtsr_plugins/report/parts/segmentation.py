"""Class names and palette of a segmentation part (from the data's ``classes.json`` or ``val.palette``), with
the legend the page shows."""
import os

from mtsr_plugins.utils.seg_vis import class_names_and_palette


class ClassLegend:
    """Mixin: ``classes(sample)`` -> (names, palette), computed once; fills ``self.legend`` [(name, '#rrggbb')]."""
    _classes = None

    def num_classes(self):
        raise NotImplementedError

    def classes(self, sample):
        if self._classes is None:
            label_path = sample.get('label_path') or sample.get('gt_path') or ''
            palette = (self.opt.get('val') or {}).get('palette')
            self._classes = class_names_and_palette(self.num_classes(), os.path.dirname(str(label_path)), palette)
            names, colors = self._classes
            self.legend = [(name, '#%02x%02x%02x' % tuple(int(c) for c in color)) for name, color in zip(names, colors)]
        return self._classes
