"""Load a trained network for inference: from an experiment folder (the option file BasicSR copied there and the
newest weights in ``models/``) or from an option file (weights from ``path.pretrain_network_g`` or ``--weights``).

Weights are read with :func:`mtsr_plugins.checkpoint_check.load_safely` (``torch.load(weights_only=True)``) and the
network is built by BasicSR's ``build_network`` from ``network_g``, so any registered generator works; the four
methods' model types pick a method-specific runner (see :mod:`mtsr_plugins.inference.methods`).
"""
import glob
import os
import re
from dataclasses import dataclass

import yaml

from mtsr_plugins.checks.checkpoint import load_safely
from mtsr_plugins.checks.errors import CheckpointError, OptionError

METHOD_OF_MODEL = {'SRSEGModel': 'srseg', 'SR2Model': 'sr2', 'SSGRWSRModel': 'ssg_rwsr', 'TADModel': 'tad'}


@dataclass
class LoadedModel:
    net: object  # nn.Module in eval mode, on CPU
    opt: dict  # the whole option dict
    method: str  # 'srseg', 'sr2', 'ssg_rwsr', 'tad' or 'sr' (any other BasicSR SR model)
    weights: str  # the file the weights came from
    scale: int


def add_model_arguments(parser):
    """--exp | --opt and --weights: how mtsr-infer and mtsr-export name the trained model."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--exp', help='experiment folder (experiments/NAME): its option file and newest weights')
    src.add_argument('--opt', help='option file (train or test); weights from path.pretrain_network_g or --weights')
    parser.add_argument('--weights', help='weight file (.pth) instead of the automatic choice')


def read_options(path):
    """A BasicSR option file as a dict; OptionError naming the file if it is missing or not YAML with network_g."""
    try:
        with open(path, encoding='utf-8') as handle:
            opt = yaml.safe_load(handle)
    except FileNotFoundError:
        raise OptionError(f"option file '{path}' does not exist") from None
    except yaml.YAMLError as err:
        raise OptionError(f"option file '{path}' is not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(opt, dict) or not isinstance(opt.get('network_g'), dict):
        raise OptionError(f"option file '{path}' has no network_g section")
    return opt


def experiment_options(exp_dir):
    """The option file that BasicSR copied into ``exp_dir`` (the .yml whose ``name`` matches the folder, else the
    only one)."""
    if not os.path.isdir(exp_dir):
        raise OptionError(f"--exp: '{exp_dir}' is not a folder")
    ymls = sorted(glob.glob(os.path.join(exp_dir, '*.yml')))
    if not ymls:
        raise OptionError(f"--exp: '{exp_dir}' holds no option file (*.yml); is it a BasicSR experiment folder?")
    folder = os.path.basename(os.path.normpath(exp_dir))
    for path in ymls:
        if read_options(path).get('name') == folder:
            return path
    if len(ymls) > 1:
        raise OptionError(f"--exp: '{exp_dir}' holds several option files and none is named '{folder}'; use --opt")
    return ymls[0]


def newest_weights(models_dir, prefix='net_g'):
    """``<prefix>_latest`` if present, else the ``<prefix>_<iter>`` with the highest iteration, else None; of
    ``.pth`` and ``.safetensors`` files (``logger.save_checkpoint_format``), a ``.pth`` where both exist."""
    best, best_rank = None, None
    for path in glob.glob(os.path.join(glob.escape(models_dir), f'{prefix}_*')):
        match = re.fullmatch(re.escape(prefix) + r'_(\d+|latest)\.(pth|safetensors)', os.path.basename(path))
        if match:
            it = float('inf') if match.group(1) == 'latest' else int(match.group(1))
            rank = (it, match.group(2) == 'pth')
            if best_rank is None or rank > best_rank:
                best, best_rank = path, rank
    return best


def weights_params(path):
    """The state dict held by a BasicSR weight file: 'params_ema' (what BasicSR validates with) when present, else
    'params', else the file itself if it is a flat state dict; a 'module.' prefix is removed."""
    ckpt = load_safely(path)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"'{path}' holds a {type(ckpt).__name__}, not a dict of weights")
    params = ckpt.get('params_ema', ckpt.get('params', ckpt))
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise CheckpointError(f"'{path}' holds no state dict ('params' / 'params_ema')")
    from mtsr_plugins.spandrel_arches import TAD_SCALE_KEY  # a marker for spandrel, not a weight
    return {(k[7:] if k.startswith('module.') else k): v for k, v in params.items() if k != TAD_SCALE_KEY}


def _choose_weights(opt, exp_dir, method, want_seg):
    if exp_dir is not None:
        models = os.path.join(exp_dir, 'models')
        found = None
        if method == 'srseg' and not want_seg:  # the head-less inference checkpoint SRSEGModel writes
            found = newest_weights(models, 'net_g_sr')
        found = found or newest_weights(models, 'net_g')
        if found is None:
            raise CheckpointError(f"--exp: no weights net_g_<iter|latest>.pth (or .safetensors) in '{models}'")
        return found
    path = (opt.get('path') or {}).get('pretrain_network_g')
    if not path:
        raise OptionError('--opt: the option file has no path.pretrain_network_g; give the weights with --weights')
    return path


def load_model(exp_dir=None, opt_path=None, weights=None, seg=False):
    """Build and load the network for inference (eval mode, CPU).

    Args:
        exp_dir (str | None): an experiment folder (``experiments/NAME``), or
        opt_path (str | None): an option file (train or test).
        weights (str | None): weight file overriding the automatic choice.
        seg (bool): SRSEG only: build the segmentation head too (the weights must hold it).
    """
    from basicsr.archs import build_network

    import mtsr_plugins  # noqa: F401  (registers this package's archs)
    if (exp_dir is None) == (opt_path is None):
        raise OptionError('give exactly one of --exp and --opt')
    if opt_path is None:
        opt_path = experiment_options(exp_dir)
    opt = read_options(opt_path)
    method = METHOD_OF_MODEL.get(opt.get('model_type'), 'sr')
    if seg and method != 'srseg':
        raise OptionError(f'--seg is for SRSEG models; this is a {opt.get("model_type")}')
    net_opt = dict(opt['network_g'])
    if method == 'srseg':
        net_opt['with_seg_head'] = bool(seg)
    path = weights or _choose_weights(opt, exp_dir, method, seg)
    params = weights_params(path)
    if seg and not any(k.startswith('seg_head.') for k in params):
        raise CheckpointError(f"--seg: '{path}' holds no segmentation head (it is the head-less inference "
                              'checkpoint); use the net_g_*.pth file')
    try:
        net = build_network(net_opt)
    except (KeyError, TypeError, ValueError) as err:
        raise OptionError(f"network_g in '{opt_path}': {str(err).splitlines()[0]}") from None
    try:
        net.load_state_dict(params, strict=True)
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise CheckpointError(f"'{path}' does not fit network_g ({net_opt.get('type')}) of '{opt_path}': "
                              f'{" ".join(lines[1:3])[:300]}') from None
    net.eval()
    for param in net.parameters():
        param.requires_grad_(False)
    scale = int(opt.get('scale') or net_opt.get('upscale') or net_opt.get('scale') or 1)
    return LoadedModel(net, opt, method, path, scale)
