"""HR-only image dataset for TAD: the model makes the guidance (plain LR or Y channel) from the HR crop.

Checks: at construction the options, the folder and the headers of the first few images; in ``__getitem__`` an
unreadable or too small image is an error naming the file (see :mod:`mtsr_plugins.utils.input_checks`).
Random crops and flips follow :mod:`mtsr_plugins.data.sample_rng` (one source per training sample).
"""
from basicsr.data.transforms import augment, mod_crop
from basicsr.utils.registry import DATASET_REGISTRY

from mtsr_plugins.archs.tad_arch import GUIDANCE_RESIZES, make_guidance
from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.checks.errors import OptionError
from mtsr_plugins.data.image_source import GT_SIZE, HRImageDataset, random_crop_origin, to_tensor
from mtsr_plugins.data.sample_rng import seeded


@DATASET_REGISTRY.register()
class TADImageDataset(HRImageDataset):
    """A folder of HR images (DIV2K layout: ``DIV2K_train_HR/0001.png``); no LR folder is needed.

    Each item: ``gt`` (3, H, W) RGB in [0, 1]; ``gt_path`` and ``lq_path`` (both the HR file, so BasicSR's tooling
    can name outputs). No ``lq``: ``TADModel.feed_data`` makes the guidance for the whole batch on the model's device
    with :func:`mtsr_plugins.archs.tad_arch.make_guidance` ((3, H/scale, W/scale) for task 'sr', default BasicSR's
    MATLAB-style bicubic with antialiasing rounded to 8 bit; (1, H, W), the Y channel, for task 'color'). With
    ``guidance_in_dataset: true`` the item also carries that ``lq`` (for models that expect it from the data).

    Options (``opt``):
        dataroot_gt (str): folder of HR images (searched recursively).
        scale (int): downscaling factor (set by BasicSR from the top-level ``scale``); 1 for colorization.
        task (str): 'sr' (default) or 'color'.
        guidance_resize (str): 'matlab_bicubic' (default) | 'bicubic' | 'bilinear' | 'area'; must match network_g.
        phase (str): 'train' crops a random ``gt_size`` patch and augments; otherwise the whole image is used,
            cropped at the bottom/right to a multiple of ``scale``.
        gt_size (int): training patch size, a multiple of ``scale`` (96 in the report).
        use_hflip, use_rot (bool): random flips / 90-degree rotations (train only, default true).
        io_backend (dict): BasicSR file client: ``type: disk`` (folders, also pre-cropped sub-image folders) or
            ``type: lmdb`` (``dataroot_gt`` a ``.lmdb`` made by ``basicsr.utils.lmdb_util``).
    """

    def __init__(self, opt):
        super().__init__(opt)
        self.task = opt.get('task', 'sr')
        self.scale = 1 if self.task == 'color' else int(opt.get('scale', 1))
        self.resize = opt.get('guidance_resize', 'matlab_bicubic')
        self.is_train = opt.get('phase', 'train') == 'train'
        if self.is_train:
            self.gt_size = int(opt.get('gt_size', 96))
        self.guidance_in_dataset = bool(opt.get('guidance_in_dataset', False))

    option_keys = Section({
        'scale': Key('int', 1, 'downscaling factor (set by BasicSR from the top-level scale); 1 for colorization',
                     low=1),
        'task': Key('str', 'sr', "'sr' (guidance = the downscaled HR) or 'color' (guidance = its Y channel)",
                    choices=('sr', 'color')),
        'guidance_resize': Key('str', 'matlab_bicubic', 'resize that makes the guidance; must match network_g',
                               choices=GUIDANCE_RESIZES),
        'gt_size': GT_SIZE.with_(default=96, meaning='training patch size, a multiple of scale (96 in the report)'),
        'guidance_in_dataset': Key('bool', False, 'the item carries the guidance as lq (for models that expect it '
                                   'from the data; TADModel makes it on its device)'),
    })

    @classmethod
    def check_options(cls, section, path, opt=None):
        """The training patch must be a multiple of the scale (:mod:`mtsr_plugins.checks.hooks`)."""
        scale = 1 if section.get('task', 'sr') == 'color' else int(section.get('scale', 1))
        gt_size = section.get('gt_size', 96)
        if section.get('phase', 'train') == 'train' and gt_size % scale:
            raise OptionError(f'expected a multiple of scale {scale}, got {gt_size}', path=f'{path}.gt_size')

    def __getitem__(self, index):
        path = self.paths[index]
        img = self.read(path, 'gt')  # HWC BGR uint8; names the file when unreadable
        if self.is_train:
            with seeded(index) as rng:
                top, left = random_crop_origin(img.shape, self.gt_size, rng, 'gt_size', path)
                img = augment(img[top:top + self.gt_size, left:left + self.gt_size],
                              self.opt.get('use_hflip', True), self.opt.get('use_rot', True))
        else:
            img = mod_crop(img, self.scale)
        item = {'gt': to_tensor(img), 'gt_path': path, 'lq_path': path}
        if self.guidance_in_dataset:
            item['lq'] = make_guidance(item['gt'], self.scale, self.task, self.resize)
        return item
