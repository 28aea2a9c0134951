"""mtsr-report's pieces on hand-made inputs: BasicSR log parsing, tensorboard events, the papers' figures,
class maps read back from overlays, the windows of largest difference, and the command's one-line errors."""
import os

import numpy as np
import pytest

from mtsr_plugins.report import paper
from mtsr_plugins.report.cli import main as report_main
from mtsr_plugins.report.images import diff_windows
from mtsr_plugins.report.records import Experiment, log_curves, parse_option_dump, tb_curves, validations
from mtsr_plugins.utils.seg_vis import default_palette, labels_from_overlay, overlay

LOG = """2026-01-01 10:00:00,000 INFO: 
  name: tiny
  model_type: SRModel
  scale: 4
  datasets:[
    val:[
      name: val_set
      max_images: 40
    ]
  ]
  val:[
    suffix: None
    save_img: True
    milestones: [30, 60]
  ]

2026-01-01 10:00:01,000 INFO: [tiny..][epoch:  0, iter:       1, lr:(1.000e-03,)] [eta: 0:00:01, time (data): 0.1 (0.0)] l_pix: 2.5000e-01 l_seg: 1.0e+00 
2026-01-01 10:00:02,000 INFO: [tiny..][epoch:  0, iter:       2, lr:(1.000e-03,)] [eta: 0:00:01, time (data): 0.1 (0.0)] l_pix: 1.2500e-01 l_seg: 5.0e-01 
2026-01-01 10:00:02,500 INFO: Validation val_set
\t # psnr: 20.5000\tBest: 20.5000 @ 2 iter
\t # ssim: 0.6000\tBest: 0.6000 @ 2 iter

2026-01-01 10:00:03,000 INFO: [tiny..][epoch:  1, iter:       3, lr:(1.000e-03,)] [eta: 0:00:01, time (data): 0.1 (0.0)] l_pix: 1.0000e-01 l_seg: 4.0e-01 
2026-01-01 10:00:03,500 INFO: Validation val_set
\t # psnr: 19.0000\tBest: 20.5000 @ 2 iter
\t # ssim: 0.6500\tBest: 0.6500 @ 3 iter
""".replace('\\t', '\t')


def test_option_dump_is_read_back_with_python_values():
    opt = parse_option_dump(LOG)
    assert opt['name'] == 'tiny' and opt['scale'] == 4
    assert opt['datasets']['val'] == {'name': 'val_set', 'max_images': 40}
    assert opt['val'] == {'suffix': None, 'save_img': True, 'milestones': [30, 60]}


def test_validations_and_losses_against_iteration(tmp_path):
    found = validations(LOG)
    assert [(it, name) for it, name, _, _ in found] == [(2, 'val_set'), (3, 'val_set')]
    assert found[0][2] == {'psnr': 20.5, 'ssim': 0.6} and found[1][2] == {'psnr': 19.0, 'ssim': 0.65}
    (tmp_path / 'tiny').mkdir()
    (tmp_path / 'tiny' / 'train_tiny_1.log').write_text(LOG)
    curves = log_curves(Experiment('tiny', str(tmp_path / 'tiny'), {}, ''))
    assert curves.losses == {'l_pix': [(1, 0.25), (2, 0.125), (3, 0.1)], 'l_seg': [(1, 1.0), (2, 0.5), (3, 0.4)]}
    assert curves.val[('val_set', 'psnr')] == [(2, 20.5), (3, 19.0)]


def test_tensorboard_events_give_the_curves(tmp_path):
    from torch.utils.tensorboard import SummaryWriter
    root = tmp_path / 'experiments' / 'tiny'
    root.mkdir(parents=True)
    with SummaryWriter(str(tmp_path / 'tb_logger' / 'tiny')) as writer:
        for it in (1, 2, 3):
            writer.add_scalar('losses/l_pix', 1.0 / it, it)
        writer.add_scalar('metrics/val_set/psnr', 21.25, 3)
    curves = tb_curves(Experiment('tiny', str(root), {}, ''))
    assert [it for it, _ in curves.losses['l_pix']] == [1, 2, 3]
    assert curves.losses['l_pix'][1][1] == pytest.approx(0.5)
    assert curves.val == {('val_set', 'psnr'): [(3, 21.25)]} and curves.source == 'tensorboard events'


def test_the_papers_figure_only_where_the_setting_matches():
    tad = {'model_type': 'TADModel', 'scale': 4, 'network_g': {'task': 'sr', 'variant': 'aetad_very_small'},
           'tad': {'no_tad': False}}
    assert paper.matching(tad, 'Set14', {}) == [('paper: Schaefer 2019, Table 3', {'psnr': 28.334}, {})]
    assert paper.matching(tad, 'demo_photos_val', {}) == []
    assert paper.matching(dict(tad, scale=2), 'Set14', {}) == []
    assert paper.matching(dict(tad, tad={'no_tad': True}), 'Set14', {}) == []
    sr2 = {'model_type': 'SR2Model', 'scale': 4, 'network_g': {'sr_branch': 'fsrcnn', 'with_classifier': True}}
    mnist = {'source': 'mnist', 'split': 'test', 'noise_var': 1e-4}
    assert paper.matching(sr2, 'mnist_test', mnist)[0][1] == {'ssim': 0.828}
    assert paper.matching(sr2, 'mnist_test', dict(mnist, noise_var=1e-3)) == []
    assert any('Table 3' in line for line in paper.other_settings('TADModel'))


def test_class_map_is_read_back_from_its_overlay():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, (20, 24))
    labels[0, :3] = 255
    palette = default_palette(4)
    assert np.array_equal(labels_from_overlay(overlay(image, labels, palette), image, palette), labels)
    other = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    assert labels_from_overlay(overlay(image, labels, palette), other, palette) is None


def test_windows_where_two_images_differ_most():
    a = np.zeros((40, 50, 3), np.uint8)
    b = a.copy()
    b[22:30, 5:13] = 200
    b[2:6, 40:44] = 100
    windows = diff_windows(a, b, 8, 2)
    assert windows[0] == (22, 5, 8)
    y, x, _ = windows[1]
    assert 2 - 7 <= y <= 2 + 3 and 40 - 7 <= x <= 40 + 3  # the second, smaller difference


def test_bad_exp_and_output_are_refused_in_one_line(tmp_path, capsys):
    (tmp_path / 'notexp').mkdir()
    assert report_main(['--exp', str(tmp_path / 'notexp'), '-o', str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'notexp' in err and 'no BasicSR option file' in err
    assert report_main(['--exp', str(tmp_path / 'missing'), '-o', str(tmp_path / 'out')]) == 2
    assert 'is not a folder' in capsys.readouterr().err
    exp = tmp_path / 'experiments' / 'tiny'
    exp.mkdir(parents=True)
    (exp / 'tiny.yml').write_text('name: tiny\nmodel_type: SRModel\nscale: 4\nnetwork_g: {type: MSRResNet}\n')
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('mine')
    assert report_main(['--exp', str(exp), '-o', str(tmp_path / 'mine')]) == 2
    assert "'" + str(tmp_path / 'mine') + "' is a folder with other content" in capsys.readouterr().err
    assert (tmp_path / 'mine' / 'notes.txt').read_text() == 'mine'
    (tmp_path / 'file.html').write_text('x')
    assert report_main(['--exp', str(exp), '-o', str(tmp_path / 'file.html')]) == 2
    assert 'is a file' in capsys.readouterr().err


def test_a_previous_report_is_replaced_and_other_folders_only_with_overwrite(tmp_path, capsys):
    exp = tmp_path / 'experiments' / 'tiny'  # an experiment with nothing recorded: the page says so
    exp.mkdir(parents=True)
    (exp / 'tiny.yml').write_text('name: tiny\nmodel_type: SRModel\nscale: 4\nnetwork_g: {type: MSRResNet}\n'
                                  'datasets: {}\n')
    out = tmp_path / 'report'
    assert report_main(['--exp', str(exp), '-o', str(out)]) == 0
    first = (out / 'index.html').read_text()
    assert 'No test or validation metrics were recorded' in first and '"name": "tiny"' in first
    (out / 'img' / 'stale.png').write_bytes(b'')
    assert report_main(['--exp', str(exp), '-o', str(out), '--title', 'again']) == 0
    assert not (out / 'img' / 'stale.png').exists() and '<title>again</title>' in (out / 'index.html').read_text()
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('mine')
    assert report_main(['--exp', str(exp), '-o', str(tmp_path / 'mine'), '--overwrite']) == 0
    assert os.path.isfile(tmp_path / 'mine' / 'index.html') and not (tmp_path / 'mine' / 'notes.txt').exists()
