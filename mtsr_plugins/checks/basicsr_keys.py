"""BasicSR 1.4.2's own option keys, as its code reads them.

Every key here was found in the code of the installed ``basicsr`` 1.4.2 package (``opt[...]``, ``opt.get(...)``,
``'key' in opt``); its default is the one that code uses. REQUIRED means the code indexes the key without a default
on the path every run of that class takes (inside ``train``: every training run; the checks make ``train`` keys
optional in a test run). A key the code reads only in some runs keeps the default None and says when it is needed
in its meaning ("required when training", "required in the train phase"): the declaration cannot say "required
when", and the cross-key rules (:mod:`mtsr_plugins.checks.basicsr_rules`) check some of these. Keys that BasicSR
writes itself (parse_options, train_pipeline, the datasets' io_backend) say so ('set by BasicSR; ...'). One key is
declared only to relax an inherited one: VideoRecurrentTestDataset's ``padding`` (VideoTestDataset requires it, the
recurrent class never reads it).

* :data:`GENERIC`: what BasicSR's pipelines (``utils/options.py`` parse_options, ``train.py``, ``test.py``,
  ``data/__init__.py`` build_dataloader, ``utils/logger.py``, ``utils/misc.py``) read whatever the model.
* :data:`DATASET_COMMON`: what those pipelines read in every dataset section.
* :data:`MODELS` / :data:`DATASETS`: what each BasicSR model / dataset class's own code reads (the caller merges a
  class's bases along its MRO, so each class declares only what its own code reads).
* :data:`NETWORK_COMMON`, :data:`LOSS_COMMON`, :data:`METRIC_COMMON`: the keys of a ``network_*``, loss or metric
  section that BasicSR reads besides the constructor's / function's own arguments.
* :data:`UNREAD_IN_BASICSR_FILES`: keys that BasicSR's own shipped option files hold but no 1.4.2 code reads.

Classes are keyed by ``__name__`` (BasicSR registers RealESRGANModel, RealESRNetModel, RealESRGANDataset and
RealESRGANPairedDataset under the names ``..._basicsr``; their ``__name__`` is the plain one).
"""
from mtsr_plugins.checks.declaration import REQUIRED, Key, Section

SET_BY_BASICSR = 'set by BasicSR; '


# ---- small builders for keys that recur ---------------------------------------------------------------------------
def _loss(meaning, default=None):
    """A loss section: its keys are those of the loss class its ``type`` names."""
    return Key('mapping', default, meaning, typed='loss')


def _prob(meaning, default=REQUIRED):
    return Key('number', default, meaning, low=0, high=1)


def _pair(meaning, default=REQUIRED):
    """A [low, high] range of numbers."""
    return Key('list', default, meaning, item=Key('number'), length=2)


def _bool(meaning, default=REQUIRED, **kw):
    return Key('bool', default, meaning, **kw)


def _optimizer(meaning, default=REQUIRED, closed=False):
    """An ``optim_*`` section. BaseModel.get_optimizer accepts only 'Adam'; every key besides ``type`` goes to
    torch.optim.Adam as a keyword (``lr`` positionally), so the section is open unless ``closed``."""
    keys = Section({
        'type': Key('str', REQUIRED, 'optimizer class; BaseModel.get_optimizer builds only Adam', choices=('Adam', )),
        'lr': Key('number', REQUIRED, 'initial learning rate of this optimizer', low=0),
    }, meaning='optimizer: type and lr; other keys go to torch.optim.Adam (betas, weight_decay, ...)')
    if not closed:  # the keyword arguments of torch.optim.Adam, read from its signature
        import torch

        from mtsr_plugins.checks.signatures import signature_section
        adam = signature_section(torch.optim.Adam, skip=('params', 'lr'))
        adam.open = False
        keys = keys.merged(adam)
    return Key('mapping', default, meaning, keys=keys)


# ---- the common keys of typed sections ----------------------------------------------------------------------------
# basicsr/archs/__init__.py build_network: pops 'type', passes the rest to the class.
NETWORK_COMMON = Section({
    'type': Key('str', REQUIRED, 'registered network class (ARCH_REGISTRY name); other keys go to its constructor'),
}, meaning='a network: its type and its constructor arguments')

# basicsr/losses/__init__.py build_loss: pops 'type', passes the rest to the class.
LOSS_COMMON = Section({
    'type': Key('str', REQUIRED, 'registered loss class (LOSS_REGISTRY name); other keys go to its constructor'),
}, meaning='a loss: its type and its constructor arguments')

# basicsr/metrics/__init__.py calculate_metric pops 'type' and passes the rest (better included) to the function;
# basicsr/models/base_model.py _initialize_best_metric_results reads 'better'.
METRIC_COMMON = Section({
    'type': Key('str', REQUIRED, 'registered metric function (METRIC_REGISTRY name); other keys go to its call'),
    'better': Key('str', 'higher', "which way is better when the best value is tracked; anything but 'higher' is "
                  "treated as lower (it is also passed on to the metric function's **kwargs)",
                  choices=('higher', 'lower')),
}, meaning='a validation metric: its type, better, and the keyword arguments of the function')

# ---- io_backend (basicsr/utils/file_client.py FileClient and its backends) -----------------------------------------
_IO_KEYS = {
    'type': Key('str', REQUIRED, 'file backend: disk (plain files), lmdb (LMDB databases) or memcached',
                choices=('disk', 'lmdb', 'memcached')),
    'db_paths': Key('list', None, SET_BY_BASICSR + 'lmdb: the databases to open; the dataset fills it from its '
                    'dataroot_* keys', item=Key('str')),
    'client_keys': Key('list', None, SET_BY_BASICSR + "lmdb: one name per database ('lq', 'gt', 'flow'); the "
                       'dataset fills it', item=Key('str')),
    'readonly': _bool('lmdb: open the databases read-only', True),
    'lock': _bool('lmdb: lock the databases against concurrent writers', False),
    'readahead': _bool("lmdb: let the OS read ahead in the database files", False),
    'server_list_cfg': Key('str', None, 'memcached: path of the server list config; required for memcached'),
    'client_cfg': Key('str', None, 'memcached: path of the client config; required for memcached'),
    'sys_path': Key('str', None, "memcached: folder added to sys.path to find the 'mc' module"),
}
IO_BACKEND = Key('mapping', REQUIRED, 'how the dataset reads its files (FileClient backend and its arguments)',
                 keys=Section(_IO_KEYS, meaning='file backend'))
# the video test datasets assert type != 'lmdb' and then read frames from disk themselves
IO_BACKEND_NO_LMDB = Key('mapping', REQUIRED, "file backend; this dataset refuses 'lmdb' and reads frames from disk",
                         keys=Section({**_IO_KEYS, 'type': _IO_KEYS['type'].with_(choices=('disk', 'memcached'))},
                                      meaning='file backend (no lmdb)'))

# ---- GENERIC: what the pipelines read for every run ---------------------------------------------------------------
# basicsr/utils/options.py parse_options, basicsr/train.py, basicsr/test.py, basicsr/utils/misc.py (make_exp_dirs,
# check_resume), basicsr/utils/logger.py (MessageLogger, init_wandb_logger), basicsr/utils/dist_util.py (init_dist)
GENERIC = {
    '': Section({
        'name': Key('str', REQUIRED, 'experiment name: names experiments/<name> or results/<name>, the log files and '
                    "the tb_logger folder; a name containing 'debug' turns off tensorboard / wandb"),
        'model_type': Key('str', REQUIRED, 'registered model class (MODEL_REGISTRY name) that build_model creates'),
        'scale': Key('int', None, 'upscaling factor; when given, parse_options copies it into every dataset section',
                     low=1),
        'num_gpu': Key(('int', 'str'), REQUIRED, "number of GPUs (0: CPU), or 'auto' for all visible CUDA devices; "
                       'the train loader multiplies batch size and workers by it when not distributed', low=0),
        'manual_seed': Key('int', None, 'random seed (plus the rank) for random, numpy and torch; drawn from '
                           '1..10000 and written back when absent'),
        'datasets': Key('mapping', REQUIRED, "dataset sections by phase: 'train', 'val' / 'val_*' when training, "
                        "any names ('test_1', ...) when testing; the phase is the name before the first '_'",
                        item=Key('mapping', typed='dataset')),
        'path': Key('mapping', REQUIRED, 'weight files to load, resume state, and the output folders BasicSR adds'),
        'train': Key('mapping', None, 'training settings; required when training (train.py reads total_iter)'),
        'val': Key('mapping', None, 'validation settings; when training without it there is no validation; required '
                   'when testing (test.py reads save_img)'),
        'logger': Key('mapping', None, 'logging and checkpoint settings; required when training'),
        'dist_params': Key('mapping', None, 'arguments of init_dist, used only with --launcher slurm',
                           keys=Section({
                               'backend': Key('str', 'nccl', 'torch.distributed backend (nccl, gloo, ...)'),
                               'port': Key('int', None, 'master port; else $MASTER_PORT, else 29500', low=1),
                           }, meaning='slurm distributed settings')),
        'is_train': _bool(SET_BY_BASICSR + 'True in train.py, False in test.py', None),
        'dist': _bool(SET_BY_BASICSR + 'whether the run is distributed (--launcher other than none)', None),
        'rank': Key('int', None, SET_BY_BASICSR + 'rank of this process (0 when not distributed)', low=0),
        'world_size': Key('int', None, SET_BY_BASICSR + 'number of processes (1 when not distributed)', low=1),
        'auto_resume': _bool(SET_BY_BASICSR + 'the --auto_resume flag: resume from the newest training state', None),
        'root_path': Key('str', None, SET_BY_BASICSR + 'root of experiments/ and tb_logger/; set by train_pipeline '
                         'only'),
    }, patterns={
        # check_resume walks every top-level key starting with 'network_'
        'network_*': Key('mapping', None, 'a network section (network_g, network_d, ...): type and constructor '
                         'arguments', typed='arch'),
    }, meaning='top level'),

    'path': Section({
        'resume_state': Key('str', None, 'training state (.state file) to resume from; its networks are then loaded '
                            'from the experiment models folder instead of pretrain_network_*'),
        'ignore_resume_networks': Key('list', None, 'network_* names whose pretrain path is kept when resuming',
                                      item=Key('str')),
        'experiments_root': Key('str', None, SET_BY_BASICSR + 'training: experiments/<name>'),
        'models': Key('str', None, SET_BY_BASICSR + 'training: where net_*_<iter>.pth files are saved'),
        'training_states': Key('str', None, SET_BY_BASICSR + 'training: where <iter>.state files are saved'),
        'log': Key('str', None, SET_BY_BASICSR + 'folder of the .log file (experiments_root or results_root)'),
        'visualization': Key('str', None, SET_BY_BASICSR + 'folder where validation / test images are saved'),
        'results_root': Key('str', None, SET_BY_BASICSR + 'testing: results/<name>'),
    }, patterns={
        # parse_options expands '~' in keys containing 'pretrain_network'; check_resume sets pretrain_<network>;
        # make_exp_dirs skips these three families (every other path key is created as a folder)
        'pretrain_network_*': Key('str', None, 'weight file to load into network_<suffix> (~: none)'),
        'strict_load_*': _bool('load network_<suffix> weights strictly (keys and shapes must match)', True),
        'param_key_*': Key('str', 'params', 'key of the state dict inside the weight file (params, params_ema; '
                           '~: the file is the state dict)', null=True),
    }, meaning='paths'),

    'train': Section({
        'total_iter': Key('number', REQUIRED, 'number of training iterations (converted with int())', low=1),
        'warmup_iter': Key('number', -1, 'iterations of linear learning-rate warm-up; -1: none'),
    }, meaning='training settings'),

    'val': Section({
        'val_freq': Key('number', None, 'validate every this many iterations; required when training with a val '
                        'section', low=0, low_open=True),
        'save_img': _bool('save the output images of validation / testing under path.visualization'),
    }, meaning='validation settings'),

    'logger': Section({
        'print_freq': Key('number', REQUIRED, 'log losses and learning rate every this many iterations', low=0,
                          low_open=True),
        'save_checkpoint_freq': Key('number', REQUIRED, 'save networks and training state every this many '
                                    'iterations', low=0, low_open=True),
        'use_tb_logger': _bool('write losses to tensorboard (tb_logger/<name>); train.py reads it with a default, '
                               'MessageLogger without one'),
        'wandb': Key('mapping', None, 'Weights & Biases sync of the tensorboard log (needs use_tb_logger)',
                     keys=Section({
                         'project': Key('str', None, 'wandb project; ~ turns wandb off'),
                         'resume_id': Key('str', None, 'wandb run id to resume; ~ starts a new run'),
                     }, meaning='wandb settings')),
    }, meaning='logging settings'),
}

# ---- DATASET_COMMON: what the pipelines read in every dataset section ---------------------------------------------
# basicsr/utils/options.py (phase, scale), basicsr/data/__init__.py (build_dataset, build_dataloader),
# basicsr/train.py (create_train_val_dataloader, prefetcher)
DATASET_COMMON = Section({
    'name': Key('str', REQUIRED, 'dataset name, used in logs, result folders and metric names'),
    'type': Key('str', REQUIRED, 'registered dataset class (DATASET_REGISTRY name) that build_dataset creates'),
    'phase': Key('str', None, SET_BY_BASICSR + "the section name before the first '_' (train, val, test)",
                 choices=('train', 'val', 'test')),
    'scale': Key('int', None, SET_BY_BASICSR + 'copied from the top-level scale when that is given', low=1),
    'batch_size_per_gpu': Key('int', None, 'train phase: batch size per GPU (times num_gpu when not distributed); '
                              'required in the train phase', low=1),
    'num_worker_per_gpu': Key('int', None, 'train phase: data loader workers per GPU (times num_gpu when not '
                              'distributed); required in the train phase', low=0),
    'dataset_enlarge_ratio': Key('number', 1, 'train phase: the sampler goes over the dataset this many times per '
                                 'epoch', low=0, low_open=True),
    'prefetch_mode': Key('str', None, "~: plain DataLoader; 'cpu': prefetch in a thread; 'cuda': copy batches to "
                         'the GPU ahead (needs pin_memory)', choices=('cpu', 'cuda')),
    'num_prefetch_queue': Key('int', 1, "prefetch_mode 'cpu': number of batches queued ahead", low=1),
    'pin_memory': _bool('DataLoader pin_memory; must be true for prefetch_mode cuda', False),
    'persistent_workers': _bool('DataLoader persistent_workers (keep workers between epochs; needs workers > 0)',
                                False),
}, meaning='every dataset section')

# ---- MODELS: what each model class's own code reads ---------------------------------------------------------------
_G_PATH = {
    'pretrain_network_g': Key('str', None, 'weight file loaded into network_g (and net_g_ema with params_ema)'),
    'param_key_g': Key('str', 'params', 'state-dict key for network_g in its weight file (~: whole file)', null=True),
    'strict_load_g': _bool('load network_g strictly', True),
}
_D_PATH = {
    'pretrain_network_d': Key('str', None, 'weight file loaded into network_d'),
    'param_key_d': Key('str', 'params', 'state-dict key for network_d in its weight file (~: whole file)', null=True),
    'strict_load_d': _bool('load network_d strictly', True),
}
_GAN_TRAIN = {
    'gan_opt': _loss('adversarial loss; read with a default of ~, but training fails without it', REQUIRED),
    'net_d_iters': Key('int', 1, 'update the generator only every this many iterations', low=1),
    'net_d_init_iters': Key('int', 0, 'iterations at the start in which only the discriminator is trained', low=0),
    'optim_d': _optimizer('optimizer of network_d'),
}
_NETWORK_D = Key('mapping', None, 'discriminator network; required when training', typed='arch')

MODELS = {
    # basicsr/models/base_model.py
    'BaseModel': {
        '': Section({
            'find_unused_parameters': _bool('DistributedDataParallel find_unused_parameters (distributed runs only)',
                                            False),
        }),
        'train': Section({
            'scheduler': Key('mapping', REQUIRED, 'learning-rate scheduler, one per optimizer (setup_schedulers)',
                             keys=Section({
                                 'type': Key('str', REQUIRED, 'scheduler class; MultiStepLR is MultiStepRestartLR',
                                             choices=('MultiStepLR', 'MultiStepRestartLR',
                                                      'CosineAnnealingRestartLR')),
                                 'milestones': Key('list', None, 'MultiStep*: iterations at which lr is multiplied '
                                                   'by gamma; required for those types', item=Key('int')),
                                 'gamma': Key('number', 0.1, 'MultiStep*: factor applied at each milestone'),
                                 'restarts': Key('list', [0], 'MultiStep*: iterations at which lr restarts',
                                                 item=Key('int')),
                                 'periods': Key('list', None, 'CosineAnnealingRestartLR: length of each cosine '
                                                'cycle in iterations; required for that type', item=Key('int')),
                                 'restart_weights': Key('list', [1], 'lr weight at each restart (one per restart / '
                                                        'period)', item=Key('number')),
                                 'eta_min': Key('number', 0, 'CosineAnnealingRestartLR: lowest learning rate'),
                                 'last_epoch': Key('int', -1, 'index of the last step, for _LRScheduler'),
                             }, meaning='scheduler: its type and constructor arguments')),
        }),
        'val': Section({
            'metrics': Key('mapping', None, 'metrics computed at validation, by any name',
                           item=Key('mapping', typed='metric')),
        }),
    },
    # basicsr/models/sr_model.py
    'SRModel': {
        '': Section({
            'network_g': Key('mapping', REQUIRED, 'generator network', typed='arch'),
        }),
        'path': Section(_G_PATH),
        'train': Section({
            'ema_decay': Key('number', 0, 'decay of the exponential moving average net_g_ema; 0: no EMA', low=0,
                             high=1),
            'pixel_opt': _loss('pixel loss (output vs gt); pixel_opt or perceptual_opt is needed'),
            'perceptual_opt': _loss('perceptual / style loss (output vs gt)'),
            'optim_g': _optimizer('optimizer of network_g'),
        }),
        'val': Section({
            'pbar': _bool('show a progress bar during validation', False),
            'suffix': Key('str', None, 'testing: suffix of saved image names; ~: the experiment name'),
        }),
    },
    # basicsr/models/srgan_model.py (also re-reads ema_decay, pixel_opt, perceptual_opt as SRModel does)
    'SRGANModel': {
        '': Section({'network_d': _NETWORK_D}),
        'path': Section(_D_PATH),
        'train': Section({
            'ldl_opt': _loss('LDL artifact loss; built, but SRGANModel itself does not use it'),
            **_GAN_TRAIN,
        }),
    },
    # basicsr/models/esrgan_model.py: only the relativistic loss terms differ; no keys of its own
    'ESRGANModel': {},
    # basicsr/models/video_base_model.py
    'VideoBaseModel': {
        'val': Section({
            'metrics': Key('mapping', REQUIRED, 'metrics computed at validation (indexed here: give ~ for none)',
                           null=True, item=Key('mapping', typed='metric')),
        }),
    },
    # basicsr/models/edvr_model.py
    'EDVRModel': {
        'train': Section({
            'tsa_iter': Key('int', None, 'train only the TSA fusion module for this many iterations first; ~: off',
                            low=0),
            'dcn_lr_mul': Key('number', 1, 'learning-rate multiplier of the deformable-conv parameters', low=0),
        }),
    },
    # basicsr/models/video_gan_model.py: SRGANModel + VideoBaseModel; no keys of its own
    'VideoGANModel': {},
    # basicsr/models/video_recurrent_model.py
    'VideoRecurrentModel': {
        'train': Section({
            'fix_flow': Key('int', None, "freeze the flow network ('spynet') and 'edvr' parts for this many "
                            'iterations first; ~: off', low=0),
            'flow_lr_mul': Key('number', 1, "learning-rate multiplier of the flow network ('spynet') parameters",
                               low=0),
        }),
        'val': Section({
            'flip_seq': _bool('also run the time-reversed sequence and average the two outputs', False),
            'center_frame_only': _bool('keep only the centre output frame (Vimeo90K-style test)', False),
        }),
    },
    # basicsr/models/video_recurrent_gan_model.py (re-reads the GAN keys itself: it is not an SRGANModel)
    'VideoRecurrentGANModel': {
        '': Section({'network_d': _NETWORK_D}),
        'path': Section(_D_PATH),
        'train': Section({
            'fix_flow': Key('int', REQUIRED, 'iterations with the flow network trained at lr_flow; ~ or 0: off '
                            '(indexed here, so it must be present)', null=True, low=0),
            'lr_flow': Key('number', None, 'learning rate of the spynet parameters; required when fix_flow is set',
                           low=0),
            **_GAN_TRAIN,
        }),
    },
    # basicsr/models/swinir_model.py (also indexes network_g.window_size, a SwinIR constructor argument)
    'SwinIRModel': {
        '': Section({
            'scale': Key('int', 1, 'upscaling factor used to crop the padded output (SwinIRModel reads it with a '
                         'default of 1)', low=1),
        }),
    },
    # basicsr/models/hifacegan_model.py (also reads network_g.type)
    'HiFaceGANModel': {
        '': Section({'network_d': _NETWORK_D}),
        'train': Section({
            'ema_decay': Key('number', 0, 'must be 0: HiFaceGANModel refuses EMA', low=0, high=0),
            'feature_matching_opt': _loss('feature-matching loss between discriminator features'),
            **_GAN_TRAIN,
        }),
    },
    # basicsr/models/realesrnet_model.py (degradations synthesized on the GPU; training keys at the top level)
    'RealESRNetModel': {
        '': Section({
            'queue_size': Key('int', 180, 'size of the training pair pool; must be divisible by the batch size',
                              low=1),
            'high_order_degradation': _bool('synthesize LQ images from GT in the model while training; false: use '
                                            "the dataset's lq", True),
            'gt_usm': _bool('sharpen GT with unsharp masking before degrading it; required when training', None),
            'resize_prob': Key('list', None, '1st degradation: probabilities of up / down / keep resize; required '
                               'when training', item=Key('number'), length=3),
            'resize_range': _pair('1st degradation: [down, up] resize factor range; required when training', None),
            'gaussian_noise_prob': _prob('1st degradation: chance of Gaussian (else Poisson) noise; required when '
                                         'training', None),
            'noise_range': _pair('1st degradation: Gaussian noise sigma range; required when training', None),
            'poisson_scale_range': _pair('1st degradation: Poisson noise scale range; required when training', None),
            'gray_noise_prob': _prob('1st degradation: chance the noise is gray; required when training', None),
            'jpeg_range': _pair('1st degradation: JPEG quality range; required when training', None),
            'second_blur_prob': _prob('2nd degradation: chance of blurring with kernel2; required when training',
                                      None),
            'resize_prob2': Key('list', None, '2nd degradation: probabilities of up / down / keep resize; required '
                                'when training', item=Key('number'), length=3),
            'resize_range2': _pair('2nd degradation: [down, up] resize factor range; required when training', None),
            'gaussian_noise_prob2': _prob('2nd degradation: chance of Gaussian (else Poisson) noise; required when '
                                          'training', None),
            'noise_range2': _pair('2nd degradation: Gaussian noise sigma range; required when training', None),
            'poisson_scale_range2': _pair('2nd degradation: Poisson noise scale range; required when training',
                                          None),
            'gray_noise_prob2': _prob('2nd degradation: chance the noise is gray; required when training', None),
            'jpeg_range2': _pair('2nd degradation: JPEG quality range; required when training', None),
            'gt_size': Key('int', None, 'size of the random GT crop after degradation; required when training',
                           low=1),
            'scale': Key('int', None, 'upscaling factor: LQ is resized to GT size / scale; required when training',
                         low=1),
        }),
    },
}
# basicsr/models/realesrgan_model.py: the same degradation keys as RealESRNetModel (it is an SRGANModel, not a
# RealESRNetModel, so they are declared again), without gt_usm, and with the three *_gt_usm switches
_realesrgan_top = {k: v for k, v in MODELS['RealESRNetModel'][''].keys.items() if k != 'gt_usm'}
_realesrgan_top.update({
    'l1_gt_usm': _bool('use the sharpened GT as the pixel-loss target; required when training', None),
    'percep_gt_usm': _bool('use the sharpened GT as the perceptual-loss target; required when training', None),
    'gan_gt_usm': _bool('show the discriminator the sharpened GT as real; required when training', None),
})
MODELS['RealESRGANModel'] = {'': Section(_realesrgan_top)}

# basicsr/models/stylegan2_model.py (a BaseModel; also indexes network_g.num_style_feat and network_*.type)
_STYLEGAN2_OPTIM = 'optimizer of network_{}: only type and lr are read; betas come from the regularization interval'
MODELS['StyleGAN2Model'] = {
    '': Section({
        'network_g': Key('mapping', REQUIRED, 'StyleGAN2 generator', typed='arch'),
        'network_d': _NETWORK_D,
        'val': Key('mapping', REQUIRED, 'validation settings; StyleGAN2Model reads val.num_val_samples when built'),
    }),
    'path': Section({**_G_PATH, **_D_PATH}),
    'train': Section({
        'gan_opt': _loss('adversarial loss (e.g. wgan_softplus)', REQUIRED),
        'r1_reg_weight': Key('number', REQUIRED, 'weight of the R1 penalty on the discriminator', low=0),
        'path_reg_weight': Key('number', REQUIRED, 'weight of the path-length penalty on the generator', low=0),
        'net_g_reg_every': Key('int', REQUIRED, 'apply the path-length penalty every this many iterations', low=1),
        'net_d_reg_every': Key('int', REQUIRED, 'apply the R1 penalty every this many iterations', low=1),
        'mixing_prob': _prob('chance of style mixing (two latent codes) per batch'),
        'path_batch_shrink': Key('int', REQUIRED, 'batch of the path-length penalty is the batch divided by this',
                                 low=1),
        'optim_g': _optimizer(_STYLEGAN2_OPTIM.format('g'), closed=True),
        'optim_d': _optimizer(_STYLEGAN2_OPTIM.format('d'), closed=True),
    }),
    'val': Section({
        'num_val_samples': Key('int', 16, 'number of fixed latent samples drawn at validation', low=1),
    }),
}

# ---- DATASETS: what each dataset class's own code reads -----------------------------------------------------------
_MEAN = Key('list', None, 'per-channel mean subtracted after loading (~: no normalization)', item=Key('number'))
_STD = Key('list', None, 'per-channel std divided by after loading (~: no normalization)', item=Key('number'))
_COLOR = Key('str', None, "'y': convert images to the Y channel of YCbCr; any other value keeps RGB")
_GT_SIZE_TRAIN = Key('int', None, 'train phase: size of the random GT crop (LQ crop is gt_size / scale); required '
                     'in the train phase', low=1)
_HFLIP_TRAIN = _bool('train phase: random horizontal flips; required in the train phase', None)
_ROT_TRAIN = _bool('train phase: random vertical flips and 90-degree rotations; required in the train phase', None)
_GT_SIZE = Key('int', REQUIRED, 'size of the random GT crop (LQ crop is gt_size / scale)', low=1)
_HFLIP = _bool('random horizontal flips')
_ROT = _bool('random vertical flips and 90-degree rotations')
_VAL_PARTITION = Key('str', REQUIRED, "REDS clips held out for validation: REDS4 (000, 011, 015, 020) or official "
                     '(240-269)', choices=('REDS4', 'official'))
_KERNELS = ('iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso', 'plateau_aniso')


def _dataroot(which, default=REQUIRED):
    return Key('str', default, f'{which} images: a folder, or an .lmdb database with io_backend lmdb')


def _blur(n):
    """The blur keys of RealESRGANDataset for degradation ``n`` ('' first, '2' second)."""
    order = 'first' if not n else 'second'
    return {
        f'blur_kernel_size{n}': Key('int', REQUIRED, f'{order} blur: kernel size; read but not used (sizes 7-21 are '
                                    'drawn)', low=1),
        f'kernel_list{n}': Key('list', REQUIRED, f'{order} blur: kernel kinds to draw from',
                               item=Key('str', choices=_KERNELS)),
        f'kernel_prob{n}': Key('list', REQUIRED, f'{order} blur: probability of each kind in kernel_list{n}',
                               item=Key('number', low=0)),
        f'blur_sigma{n}': _pair(f'{order} blur: range of the kernel sigma (both axes)'),
        f'betag_range{n}': _pair(f'{order} blur: beta range of generalized Gaussian kernels'),
        f'betap_range{n}': _pair(f'{order} blur: beta range of plateau kernels'),
        f'sinc_prob{n}': _prob(f'{order} blur: chance of a sinc kernel instead'),
    }


DATASETS = {
    # basicsr/data/paired_image_dataset.py
    'PairedImageDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': _dataroot('ground-truth'),
        'dataroot_lq': _dataroot('low-quality'),
        'meta_info_file': Key('str', None, 'disk backend: text file listing the GT names (~: scan the folders)'),
        'filename_tmpl': Key('str', '{}', "template from a GT name to its LQ name, e.g. '{}x4'"),
        'mean': _MEAN,
        'std': _STD,
        'gt_size': _GT_SIZE_TRAIN,
        'use_hflip': _HFLIP_TRAIN,
        'use_rot': _ROT_TRAIN,
        'color': _COLOR,
    }),
    # basicsr/data/single_image_dataset.py
    'SingleImageDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_lq': _dataroot('low-quality'),
        'meta_info_file': Key('str', None, 'text file listing the image names; opened whenever the key is present',
                              null=False),
        'mean': _MEAN,
        'std': _STD,
        'color': _COLOR,
    }),
    # basicsr/data/reds_dataset.py REDSDataset
    'REDSDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': _dataroot('ground-truth frames'),
        'dataroot_lq': _dataroot('low-quality frames'),
        'dataroot_flow': Key('str', REQUIRED, 'precomputed optical flow (~: none); indexed, so it must be present',
                             null=True),
        'meta_info_file': Key('str', REQUIRED, 'text file listing clip, frame count and size'),
        'val_partition': _VAL_PARTITION,
        'num_frame': Key('int', REQUIRED, 'number of input frames (odd) around the centre frame', low=1),
        'interval_list': Key('list', REQUIRED, 'frame intervals to draw from', item=Key('int', low=1)),
        'random_reverse': _bool('randomly reverse the frame order'),
        'gt_size': _GT_SIZE,
        'use_hflip': _HFLIP,
        'use_rot': _ROT,
    }),
    # basicsr/data/reds_dataset.py REDSRecurrentDataset (no flow: dataroot_flow is not read)
    'REDSRecurrentDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': _dataroot('ground-truth frames'),
        'dataroot_lq': _dataroot('low-quality frames'),
        'meta_info_file': Key('str', REQUIRED, 'text file listing clip, frame count and size'),
        'val_partition': _VAL_PARTITION,
        'test_mode': _bool('true: keep only the val_partition clips; false: leave them out'),
        'num_frame': Key('int', REQUIRED, 'length of each training sequence in frames', low=1),
        'interval_list': Key('list', [1], 'frame intervals to draw from', item=Key('int', low=1)),
        'random_reverse': _bool('randomly reverse the frame order', False),
        'gt_size': _GT_SIZE,
        'use_hflip': _HFLIP,
        'use_rot': _ROT,
    }),
    # basicsr/data/vimeo90k_dataset.py Vimeo90KDataset
    'Vimeo90KDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': _dataroot('ground-truth septuplets'),
        'dataroot_lq': _dataroot('low-quality septuplets'),
        'meta_info_file': Key('str', REQUIRED, 'text file listing the septuplet folders'),
        'num_frame': Key('int', REQUIRED, 'number of input frames (odd, at most 7) around frame 4', low=1, high=7),
        'random_reverse': _bool('randomly reverse the frame order'),
        'gt_size': _GT_SIZE,
        'use_hflip': _HFLIP,
        'use_rot': _ROT,
    }),
    # basicsr/data/vimeo90k_dataset.py Vimeo90KRecurrentDataset (always uses the 7 frames)
    'Vimeo90KRecurrentDataset': Section({
        'num_frame': Key('int', REQUIRED, 'read by Vimeo90KDataset, then ignored: all 7 frames are used (-1 is '
                         'customary)'),
        'flip_sequence': _bool('append the reversed sequence (14 frames)'),
    }),
    # basicsr/data/video_test_dataset.py VideoTestDataset
    'VideoTestDataset': Section({
        'name': Key('str', REQUIRED, 'must be Vid4, REDS4 or REDSofficial (any case): other names are refused'),
        'io_backend': IO_BACKEND_NO_LMDB,
        'dataroot_gt': Key('str', REQUIRED, 'folder of ground-truth clip folders'),
        'dataroot_lq': Key('str', REQUIRED, 'folder of low-quality clip folders'),
        'meta_info_file': Key('str', None, 'text file listing the clips; opened whenever the key is present (else '
                              'every sub-folder)', null=False),
        'cache_data': _bool('load all frames into memory once'),
        'num_frame': Key('int', REQUIRED, 'number of input frames (odd) around each frame', low=1),
        'padding': Key('str', REQUIRED, 'how frame indices past the clip ends are filled',
                       choices=('replicate', 'reflection', 'reflection_circle', 'circle')),
    }),
    # basicsr/data/video_test_dataset.py VideoTestVimeo90KDataset
    'VideoTestVimeo90KDataset': Section({
        'io_backend': IO_BACKEND_NO_LMDB,
        'dataroot_gt': Key('str', REQUIRED, 'folder of ground-truth septuplets'),
        'dataroot_lq': Key('str', REQUIRED, 'folder of low-quality septuplets'),
        'meta_info_file': Key('str', REQUIRED, 'text file listing the test septuplets'),
        'cache_data': _bool('must be false: caching is not implemented here', REQUIRED, choices=(False, )),
        'num_frame': Key('int', REQUIRED, 'number of input frames (odd, at most 7) around frame 4', low=1, high=7),
    }),
    # basicsr/data/video_test_dataset.py VideoTestDUFDataset (a VideoTestDataset)
    'VideoTestDUFDataset': Section({
        'use_duf_downsampling': _bool("make LQ from GT with DUF's Gaussian downsampling (uses scale)"),
    }),
    # basicsr/data/video_test_dataset.py VideoRecurrentTestDataset (a VideoTestDataset; whole clips, cached)
    'VideoRecurrentTestDataset': Section({
        'cache_data': _bool('must be true: only cached clips are implemented', REQUIRED, choices=(True, )),
        'num_frame': Key('int', REQUIRED, 'read by VideoTestDataset (border frames); whole clips are returned, '
                         '-1 is customary'),
        'padding': Key('str', None, 'not read by this class (inherited declaration of VideoTestDataset)',
                       choices=('replicate', 'reflection', 'reflection_circle', 'circle')),
    }),
    # basicsr/data/ffhq_dataset.py
    'FFHQDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': Key('str', REQUIRED, 'folder of 00000000.png ... 00069999.png, or an .lmdb with meta_info.txt'),
        'mean': _MEAN.with_(default=REQUIRED),
        'std': _STD.with_(default=REQUIRED),
        'use_hflip': _HFLIP,
    }),
    # basicsr/data/realesrgan_dataset.py (GT only; LQ is made by RealESRGANModel / RealESRNetModel)
    'RealESRGANDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': Key('str', REQUIRED, 'GT folder, or an .lmdb database with meta_info.txt'),
        'meta_info': Key('str', None, 'disk backend: text file of GT paths relative to dataroot_gt; required unless '
                         'lmdb'),
        **_blur(''),
        **_blur('2'),
        'final_sinc_prob': _prob('chance of a final sinc filter'),
        'use_hflip': _HFLIP,
        'use_rot': _ROT,
    }),
    # basicsr/data/realesrgan_paired_dataset.py
    'RealESRGANPairedDataset': Section({
        'io_backend': IO_BACKEND,
        'dataroot_gt': _dataroot('ground-truth'),
        'dataroot_lq': _dataroot('low-quality'),
        'meta_info': Key('str', None, "disk backend: text file of 'gt_path, lq_path' lines (~: scan the folders)"),
        'filename_tmpl': Key('str', '{}', "template from a GT name to its LQ name, e.g. '{}x4'"),
        'mean': _MEAN,
        'std': _STD,
        'gt_size': _GT_SIZE_TRAIN,
        'use_hflip': _HFLIP_TRAIN,
        'use_rot': _ROT_TRAIN,
    }),
}

# ---- keys of BasicSR's own option files that no 1.4.2 code reads --------------------------------------------------
# From the stored versions of XPixelGroup/BasicSR options/train/**.yml and options/test/**.yml (some stored versions
# predate 1.4.2: they still use old names).
UNREAD_IN_BASICSR_FILES = {
    'datasets.train.use_shuffle': 'in most training files (MSRGAN, ESRGAN, EDSR, RCAN, SwinIR, ECBSR, EDVR, '
                                  'BasicVSR, StyleGAN2, HiFaceGAN, RealESRNet): the train loader never shuffles by '
                                  'option (the sampler does)',
    'datasets.train.use_flip': "old name of use_hflip (MSRGAN, ESRGAN, EDSR, RCAN, ECBSR, EDVR, BasicVSR, IconVSR "
                               "files): 1.4.2 indexes use_hflip in the train phase, so those files stop there",
    'datasets.train.gt_size': 'RealESRGANDataset files (realesrgan/realesrnet x2plus, x4plus): the crop size is '
                              'the top-level gt_size that the model reads',
    'datasets.train.interval_list': 'Vimeo90KRecurrentDataset files (BasicVSR Vimeo90K BDx4): Vimeo90K datasets '
                                    'have no interval option',
    'datasets.train.dataroot_flow': 'REDSRecurrentDataset file (train_VideoRecurrentGANModel_REDS): only '
                                    'REDSDataset reads it',
    'train.fix_iter': 'old name of fix_flow (stored train_BasicVSR_REDS, train_IconVSR_REDS; model_type '
                      'BasicVSRModel, which 1.4.2 does not have)',
    'train.net_d_iters': 'StyleGAN2 files: StyleGAN2Model does not read it',
    'train.net_d_init_iters': 'StyleGAN2 files: StyleGAN2Model does not read it',
    'path.pretrain_model_g': 'old name of pretrain_network_g (StyleGAN2, EDVR, EDSR, ESRGAN test, DUF files); '
                             'worse than unread: make_exp_dirs passes every path key outside pretrain_network*, '
                             'strict_load*, param_key*, *resume* to os.makedirs (a .pth path becomes a folder, ~ '
                             'raises TypeError)',
    'path.strict_load': 'old name of strict_load_g (same files)',
    'gpu_ids': 'old top-level key (DUF, EDVR test files); 1.4.2 reads num_gpu, which those files lack',
    'set_CUDA_VISIBLE_DEVICES': 'old top-level key (DUF, EDVR test files)',
    'save_img': 'top level (TOF, RCAN test files): only val.save_img is read',
    'suffix': 'top level (RCAN test file): only val.suffix is read',
    'crop_border': 'top level (RCAN test file): crop_border is a metric argument (val.metrics.<name>.crop_border)',
}
