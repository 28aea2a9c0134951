"""MTSRModel, the base of the package's models: validation loop and its metrics, test(), save paths."""
import numpy as np
import pytest
import torch

import mtsr_plugins  # noqa: F401  (registers the models)
from basicsr.models import build_model
from mtsr_plugins.metrics.segmentation_metric import calculate_miou, confusion_matrix, miou_from_confusion


def _srseg_opt(tmp_path, **val):
    return {'name': 'base_unit', 'model_type': 'SRSEGModel', 'scale': 2, 'num_gpu': 0, 'is_train': False,
            'dist': False, 'rank': 0, 'world_size': 1,
            'network_g': {'type': 'SRSEGNet', 'num_feat': 8, 'num_block': 1, 'upscale': 2, 'num_classes': 3,
                          'first_last_kernel': 3},
            'path': {'pretrain_network_g': None, 'visualization': str(tmp_path / 'vis')},
            'val': {'suffix': 'tag', 'pbar': True, **val}}


class _Loader(list):
    dataset = type('D', (), {'opt': {'name': 'unit_set'}})()


def _batches(n=3):
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        label = torch.full((1, 6, 6), i % 3)  # one class per image: per-image and data-set mIoU differ
        out.append({'lq': torch.rand(1, 3, 6, 6, generator=g), 'gt': torch.rand(1, 3, 12, 12, generator=g),
                    'label': label, 'lq_path': [f'/data/img{i}.png']})
    return out


def test_validation_reports_dataset_miou_and_saves_images(tmp_path):
    torch.manual_seed(0)
    metrics = {'miou': {'type': 'calculate_miou'}, 'acc': {'type': 'calculate_pixel_accuracy'},
               'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}
    model = build_model(_srseg_opt(tmp_path, metrics=metrics))
    batches = _batches()
    model.nondist_validation(_Loader(batches), 7, None, save_img=True)
    assert not hasattr(model, 'gt') and not hasattr(model, 'label')  # batch tensors are dropped after each batch
    preds, labels = [], []
    for data in batches:  # the same predictions by hand
        model.feed_data(data)
        model.test()
        preds.append(model.seg_logits.argmax(1)[0].numpy())
        labels.append(data['label'][0].numpy())
    conf = sum(confusion_matrix(p, t, 3) for p, t in zip(preds, labels))
    assert model.metric_results['miou'] == pytest.approx(miou_from_confusion(conf))
    assert model.metric_results['acc'] == pytest.approx(np.trace(conf) / conf.sum())
    per_image = np.mean([calculate_miou(p, t, 3) for p, t in zip(preds, labels)])
    assert model.metric_results['miou'] != pytest.approx(per_image)  # the data-set value, not a mean
    assert 0 < model.metric_results['psnr'] < 60
    assert model.best_metric_results['unit_set']['miou']['iter'] == 7
    vis = tmp_path / 'vis' / 'unit_set'
    assert sorted(p.name for p in vis.iterdir()) == sorted(f'img{i}_tag{s}.png' for i in range(3) for s in ('', '_seg'))


def test_metrics_without_data_are_left_out(tmp_path):
    model = build_model(_srseg_opt(tmp_path, metrics={'miou': {'type': 'calculate_miou'},
                                                       'psnr': {'type': 'calculate_psnr', 'crop_border': 0}}))
    batches = [{k: v for k, v in b.items() if k != 'label'} for b in _batches(2)]  # no labels
    model.nondist_validation(_Loader(batches), 1, None, save_img=False)
    assert set(model.metric_results) == {'psnr'}
    assert not (tmp_path / 'vis').exists()


def test_test_runs_the_ema_network_in_eval_mode_and_restores_train_mode(tmp_path):
    opt = {'name': 'ema_unit', 'model_type': 'SR2Model', 'scale': 2, 'num_gpu': 0, 'is_train': True, 'dist': False,
           'rank': 0, 'world_size': 1,
           'network_g': dict(type='SR2Net', sr_branch='fsrcnn', num_in_ch=1, scale=2, num_classes=3, num_shared=1,
                             cls_hidden=8, d=8, s=4, m=1),
           'train': dict(stage=1, ema_decay=0.5, optim_g=dict(type='Adam', lr=1e-3),
                         scheduler=dict(type='MultiStepLR', milestones=[100], gamma=0.5)),
           'path': dict(pretrain_network_g=None, models=str(tmp_path), training_states=str(tmp_path)), 'val': {}}
    model = build_model(opt)
    with torch.no_grad():
        for p in model.net_g_ema.parameters():
            p.add_(0.1)  # EMA differs from the live network
    model.net_g.train()
    lq = torch.rand(2, 1, 5, 5)
    sr, logits = model.predict(lq)
    expected = model.net_g_ema.eval()(lq)[0]
    assert torch.allclose(sr, expected) and not torch.allclose(sr, model.net_g.eval()(lq)[0])
    model.net_g.train()
    model.predict(lq)
    assert model.net_g.training and not sr.requires_grad and logits.shape == (2, 3)
