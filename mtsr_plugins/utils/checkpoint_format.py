"""``logger.save_checkpoint_format: safetensors``: network files of a training run as ``.safetensors``.

traiNNer-redux's key and values (``pth`` | ``safetensors``), so option files move between the two. With
``safetensors`` every network file BasicSR would write as ``net_<label>_<iter>.pth`` is written as
``net_<label>_<iter>.safetensors``: the flat ``params`` state dict (the names of the network itself, what spandrel
and chaiNNer read) or, with EMA (``train.ema_decay > 0``), ``params`` and ``params_ema`` under those prefixes, as
BasicSR keeps both in one ``.pth`` (such a file is for resuming and for this package; ``mtsr-export --format
safetensors`` writes the flat file to share), with the metadata of
:func:`~mtsr_plugins.utils.safetensors_files.network_metadata`, atomically and with the free-space check of
:mod:`mtsr_plugins.utils.safe_saving`. Training states (optimizer, scheduler, RNG)
stay torch files. ``--auto_resume`` finds the ``.safetensors`` files (:func:`point_resume_at_safetensors`); the
plugin's ``load_network`` reads them.
"""
import os

from mtsr_plugins.checks.declaration import Key, Section
from mtsr_plugins.utils.safetensors_files import SUFFIX, network_metadata

OPTION_KEYS = {'logger': Section({
    'save_checkpoint_format': Key('str', 'pth', "network files as 'pth' (BasicSR's torch files) or 'safetensors' "
                                  "(no code on loading; with EMA both state dicts; training states stay torch files)",
                                  choices=('pth', 'safetensors')),
})}


def checkpoint_format(opt):
    """'pth' or 'safetensors' for the options ``opt``."""
    return (opt.get('logger') or {}).get('save_checkpoint_format') or 'pth'


def use_checkpoint_format(model):
    """Read the format once, when the model is built (so the key counts as read), for :func:`save_network`."""
    if model.opt.get('is_train'):
        model.mtsr_checkpoint_format = checkpoint_format(model.opt)
    return model


def _save_network_any_format(original):
    def save_network(self, net, net_label, current_iter, param_key='params'):
        if getattr(self, 'mtsr_checkpoint_format', 'pth') != 'safetensors':
            return original(self, net, net_label, current_iter, param_key)
        nets = net if isinstance(net, list) else [net]
        keys = param_key if isinstance(param_key, list) else [param_key]
        states = {key: {(k[7:] if k.startswith('module.') else k): v
                        for k, v in self.get_bare_model(one).state_dict().items()} for one, key in zip(nets, keys)}
        tag = 'latest' if current_iter == -1 else current_iter
        bare = self.get_bare_model(nets[0])
        save_weights_checked(states, os.path.join(self.opt['path']['models'], f'{net_label}_{tag}{SUFFIX}'),
                             network_metadata(self.opt.get(_option_name(net_label)) or {'type': type(bare).__name__},
                                              self.opt.get('scale') or 1, {'mtsr_plugins.iteration': tag}))
        return None

    return save_network


def _option_name(net_label):
    """'net_g' -> 'network_g' (BasicSR's naming of the option sections)."""
    return 'network_' + net_label[len('net_'):] if net_label.startswith('net_') else net_label


def save_weights_checked(states, path, metadata):
    """:func:`~mtsr_plugins.utils.safetensors_files.save_state_dicts` of ``states`` ({param key: state dict}, or
    one flat state dict) behind the free-space check and the loud failure of
    :data:`~mtsr_plugins.utils.safe_saving.checked_save`."""
    from mtsr_plugins.utils.safe_saving import checked_save
    from mtsr_plugins.utils.safetensors_files import save_state_dicts
    if not all(isinstance(v, dict) for v in states.values()):
        states = {'params': states}
    checked_save.write(path, lambda: save_state_dicts(states, path, metadata))


def point_resume_at_safetensors(opt):
    """After BasicSR's ``check_resume`` named ``net_<label>_<iter>.pth`` for each network: the ``.safetensors``
    where only that exists."""
    for key, value in list((opt.get('path') or {}).items()):
        if key.startswith('pretrain_network_') and isinstance(value, str) and value.endswith('.pth') \
                and not os.path.exists(value) and os.path.exists(value[:-len('.pth')] + SUFFIX):
            opt['path'][key] = value[:-len('.pth')] + SUFFIX
