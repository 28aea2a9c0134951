"""TAD's part of the report: the slider bicubic(plain bicubic LR) <-> SHR <-> ground truth, and beside it the
stored 8-bit SLR, the plain bicubic LR (the guidance) and their difference. SLR / SHR are the ``*_SLR.png`` /
``*_SHR.png`` the test wrote, else ``mtsr-infer``'s TAD runner (encode, round to 8 bit, decode). Learned baseline:
a TAD experiment of the same scale and task with ``tad.no_tad: true`` (the decoder on the plain LR)."""
import numpy as np

from mtsr_plugins.report.images import fit, read_rgb, rgb8
from mtsr_plugins.report.parts.base import Part


class TADPart(Part):
    method = 'TAD'
    output_label = 'SHR'

    def tad(self, opt=None):
        return (opt or self.opt).get('tad') or {}

    def baseline_label(self, other):
        o, n = other.opt, self.opt
        if o.get('model_type') != 'TADModel' or self.tad().get('no_tad') or not self.tad(o).get('no_tad'):
            return None
        same = all(o['network_g'].get(k) == n['network_g'].get(k) for k in ('task', 'scale'))
        return 'no_tad (decoder on the plain bicubic LR)' if same and o.get('scale') == n.get('scale') else None

    def lr(self, sample):
        from mtsr_plugins.archs.tad_arch import make_guidance
        net = self.opt['network_g']
        return make_guidance(sample['gt'], self.scale, net.get('task', 'sr'),
                             net.get('guidance_resize', 'matlab_bicubic'))

    def outputs(self, set_name, stem, sample, lr):
        shr, slr = self.recorded(set_name, stem, '_SHR'), self.recorded(set_name, stem, '_SLR')
        if shr and slr:
            return {'sr': read_rgb(shr), 'slr': read_rgb(slr)}
        result = self.run(sample['gt'])
        return {'sr': rgb8(result['shr']), 'slr': rgb8(result['slr'])} if result else {}

    def extras(self, set_name, stem, sample, lr, outs):
        guidance = rgb8(lr)
        slr = fit(outs['slr'], *guidance.shape[:2])
        diff = np.clip(np.abs(slr.astype(np.int16) - guidance.astype(np.int16)) * 10, 0, 255).astype(np.uint8)
        return [('stored 8-bit SLR', slr), ('plain bicubic LR', guidance), ('|SLR - bicubic LR| x 10', diff)]
