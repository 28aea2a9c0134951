"""scripts/compare_amp.py: the summary's arithmetic and reading finished runs back."""
import math

import pytest

from conftest import load_script


@pytest.fixture(scope='module')
def compare_amp():
    return load_script('compare_amp')


def test_summary_rows_hand_computed(compare_amp):
    rows = compare_amp.summary_rows({'fp32': [1.0, 2.0, 3.0], 'bf16': [2.0, 4.0]}, 'fp32')
    (ref, ref_values, ref_mean, ref_sd, ref_diff, ref_se), (amp, values, mean, sd, diff, se) = rows
    assert (ref, ref_mean, ref_sd, ref_diff, ref_se) == ('fp32', 2.0, 1.0, 0.0, 0.0)
    assert (amp, values, mean, diff) == ('bf16', [2.0, 4.0], 3.0, 1.0)
    assert sd == pytest.approx(math.sqrt(2))
    assert se == pytest.approx(math.sqrt(1 / 3 + 2 / 2))  # sd^2/n of each side


def test_one_seed_has_no_spread(compare_amp):
    (_, _, _, sd, _, _), (_, _, _, _, _, se) = compare_amp.summary_rows({'fp32': [1.0], 'bf16': [1.5]}, 'fp32')
    assert math.isnan(sd) and math.isnan(se)


def test_finished_run_reads_the_newest_log_only_when_training_ended(compare_amp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert compare_amp.finished_run('run') is None  # no experiment
    folder = tmp_path / 'experiments' / 'run'
    folder.mkdir(parents=True)
    (folder / 'train_run_20261123_080000.log').write_text(
        'INFO: Validation val\n\t # psnr: 20.0000\tBest: 20.0 @ 150 iter\n'
        'INFO: Validation val\n\t # psnr: 21.5000\tBest: 21.5 @ 300 iter\n\t # miou: 0.5000\tBest: 0.5\n'
        'INFO: End of training. Time consumed: 0:01:00\n')
    assert compare_amp.finished_run('run') == {'psnr': 21.5, 'miou': 0.5}
    (folder / 'train_run_20261123_090000.log').write_text('\t # psnr: 19.0000\tBest: 19.0 @ 150 iter\n')
    assert compare_amp.finished_run('run') is None  # the newest run stopped before its end
