"""mtsr-report on a TAD video experiment (step 3, SOF-VSR) trained and tested through mtsr-train / mtsr-test:
the per-frame PSNR plot, the frame strip and the clip's slider, and the test's PSNR in the table."""
import json
import re

import cv2
import pytest
from conftest import load_options, logged_metric, run_module, write_options
from test_tad_video_model import _tiny, write_clips

from mtsr_plugins.report.cli import main as report_main

pytestmark = pytest.mark.slow


def test_the_report_of_a_tad_video_run_shows_frames_and_per_frame_psnr(tmp_path):
    root = write_clips(tmp_path / 'clips')
    opt = _tiny(load_options('options/train/tad_video_demo_step3_x4_bicubic.yml'), root, 2)
    opt['name'] = 'vsr'
    proc = run_module(['mtsr_plugins.train', '-opt', write_options(opt, tmp_path / 'vsr.yml')], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    test = _tiny(load_options('options/test/tad_video_demo_step3_x4_bicubic.yml'), root, 1,
                 pretrain_network_g='experiments/vsr/models/net_g_latest.pth')
    test['name'] = 'vsr'
    proc = run_module(['mtsr_plugins.test', '-opt', write_options(test, tmp_path / 'test.yml')], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:]
    psnr = logged_metric(proc.stdout, 'psnr', 5, 60)

    out = tmp_path / 'report'
    assert report_main(['--exp', str(tmp_path / 'experiments' / 'vsr'), '-o', str(out)]) == 0
    page = (out / 'index.html').read_text()
    data = json.loads(re.search(r'<script[^>]*id="report-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    rows = {row['label']: row['values'] for row in data['table'][0]['rows']}
    assert rows['ours']['psnr'] == pytest.approx(psnr, abs=1e-4)  # the number the test run wrote
    assert 5 < rows['bicubic']['psnr'] < 60  # computed by the report from the clip's frames
    section = data['sections'][0]
    assert [caption for caption, _ in section['figures']] == ['demo_video_val: psnr of every frame, SHR and bicubic']
    sample = section['sets'][0][1][0]
    assert [label for label, _ in sample['slider']] == ['bicubic', 'SHR', 'ground truth']
    (caption, strip), = sample['extras']
    assert caption == 'frames: ground truth, the LR the network read, SHR'
    assert cv2.imread(str(out / strip)).shape == (3 * 32, 5 * 40, 3)  # 3 rows of the clip's 5 frames at HR size
    images = re.findall(r'img/[^"]+\.png', json.dumps(data))
    assert len(images) >= 6
    for rel in images:
        img = cv2.imread(str(out / rel))
        assert img is not None and img.size > 0, rel
