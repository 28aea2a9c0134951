"""SR2Model: stage-1 optimises the SR network only, stage 2 really loads the stage-1 weights, validation metrics."""
import copy

import numpy as np
import pytest
import torch

import mtsr_plugins  # noqa: F401
from basicsr.metrics import calculate_metric
from mtsr_plugins.models.sr2_model import SR2Model

NET = dict(type='SR2Net', sr_branch='fsrcnn', num_in_ch=1, scale=2, num_classes=3, num_shared=1, cls_hidden=8, d=8,
           s=4, m=1)


def make_opt(tmp_path, stage, pretrain=None, **train_extra):
    train = dict(stage=stage, cls_weight=9.0, ema_decay=0, optim_g=dict(type='Adam', lr=1e-3),
                 scheduler=dict(type='MultiStepLR', milestones=[100], gamma=0.5), total_iter=10)
    train.update(train_extra)
    models = tmp_path / f'models{stage}'
    models.mkdir(exist_ok=True)
    return dict(name=f'sr2_unit_stage{stage}', model_type='SR2Model', scale=2, num_gpu=0, is_train=True, dist=False,
                rank=0, world_size=1, network_g=copy.deepcopy(NET), train=train,
                path=dict(pretrain_network_g=pretrain, strict_load_g=True, models=str(models),
                          training_states=str(tmp_path), visualization=str(tmp_path / 'vis')),
                val=dict(metrics=dict(psnr=dict(type='calculate_psnr', crop_border=0),
                                      acc=dict(type='calculate_cls_accuracy'))))


def batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {'lq': torch.rand(n, 1, 6, 6, generator=g), 'gt': torch.rand(n, 1, 12, 12, generator=g),
            'label': torch.arange(n) % 3, 'lq_path': [f'img{i}' for i in range(n)]}


def test_stage1_trains_sr_only_and_loss_falls(tmp_path):
    torch.manual_seed(0)
    model = SR2Model(make_opt(tmp_path, stage=1))
    optimised = {id(p) for g in model.optimizer_g.param_groups for p in g['params']}
    assert not any(id(p) in optimised for p in model.net_g.classifier.parameters())
    cls_before = copy.deepcopy(model.net_g.classifier.state_dict())
    data = batch()
    losses = []
    for it in range(30):
        model.feed_data(data)
        model.optimize_parameters(it)
        losses.append(model.log_dict['l_pix'])
    assert losses[-1] < 0.7 * losses[0]
    assert 'l_ce' not in model.log_dict and model.logits is None
    for k, v in model.net_g.classifier.state_dict().items():
        if v.dtype.is_floating_point:
            assert torch.equal(v, cls_before[k]), k


@pytest.mark.parametrize('stage1_has_classifier', [False, True])  # False = the shipped option files
def test_stage2_loads_stage1_weights_and_trains_jointly(tmp_path, stage1_has_classifier):
    torch.manual_seed(0)
    opt1 = make_opt(tmp_path, stage=1)
    opt1['network_g']['with_classifier'] = stage1_has_classifier
    stage1 = SR2Model(opt1)
    for it in range(3):
        stage1.feed_data(batch())
        stage1.optimize_parameters(it)
    stage1.save_network(stage1.net_g, 'net_g', 'latest')
    ckpt = str(tmp_path / 'models1' / 'net_g_latest.pth')
    torch.manual_seed(123)  # a different random init, so equality below can only come from loading
    opt2 = make_opt(tmp_path, stage=2, pretrain=ckpt)
    opt2['path']['strict_load_g'] = stage1_has_classifier  # a file without classifier loads non-strictly
    stage2 = SR2Model(opt2)
    saved = stage1.net_g.state_dict()
    for k, v in stage2.net_g.state_dict().items():
        if not k.startswith('classifier.'):
            assert torch.equal(v, saved[k]), f'stage-1 weight {k} not loaded'
    assert stage2.optimizer_g.param_groups[0]['lr'] == 1e-3
    assert len(stage2.optimizer_g.param_groups[0]['params']) == len(list(stage2.net_g.parameters()))
    stage2.feed_data(batch())
    stage2.optimize_parameters(0)
    assert {'l_pix', 'l_ce', 'acc'} <= set(stage2.log_dict)


def test_stage2_without_stage1_weights_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='pretrain_network_g'):
        SR2Model(make_opt(tmp_path, stage=2))
    SR2Model(make_opt(tmp_path, stage=2, allow_stage2_from_scratch=True))  # explicit opt-out works


def test_stage2_rejects_a_checkpoint_without_sr_weights(tmp_path):
    path = tmp_path / 'wrong.pth'
    torch.save({'params': {'classifier.head.4.bias': torch.zeros(3)}}, path)
    opt = make_opt(tmp_path, stage=2, pretrain=str(path))
    opt['path']['strict_load_g'] = False
    with pytest.raises(ValueError, match='lacks SR weights'):
        SR2Model(opt)


def test_validation_reports_psnr_and_accuracy(tmp_path):
    torch.manual_seed(0)
    model = SR2Model(make_opt(tmp_path, stage=1))
    data = batch(6)
    loader = [{k: (v[i:i + 2] if not isinstance(v, list) else v[i:i + 2]) for k, v in data.items()} for i in (0, 2, 4)]

    class Loader(list):
        dataset = type('D', (), {'opt': {'name': 'unit'}})()

    model.nondist_validation(Loader(loader), 1, None, save_img=True)
    model.lq = data['lq']
    model.test()
    expected_acc = float((model.logits.argmax(1) == data['label']).float().mean())
    assert model.metric_results['acc'] == pytest.approx(expected_acc)
    assert 0 < model.metric_results['psnr'] < 40
    assert (tmp_path / 'vis' / 'img5' / 'img5_1.png').is_file()
    assert model.output.shape == (6, 1, 12, 12)  # self.output stays the SR image


def test_accuracy_metric_by_hand():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert calculate_metric({'pred': logits, 'label': np.array([0, 1, 1, 2])},
                            {'type': 'calculate_cls_accuracy'}) == 0.75
    assert calculate_metric({'pred': np.array([1, 2]), 'label': np.array([1, 1])},
                            {'type': 'calculate_cls_accuracy'}) == 0.5
    with pytest.raises(ValueError, match='must be equal'):
        calculate_metric({'pred': np.array([1, 2]), 'label': np.array([1])}, {'type': 'calculate_cls_accuracy'})
