"""mtsr-report on tiny real runs of every method (report_fixtures.tiny_runs): the page's table holds the numbers
the runs logged, each method shows its own pictures, and in headless Chromium the page loads from file:// with
no console error, every image loads and dragging a slider changes what is shown."""
import glob
import json
import os
import re

import cv2
import numpy as np
import pytest

from conftest import load_script, logged_metric, run_module
from report_fixtures import chromium, tiny_runs  # noqa: F401  (fixtures)

EXPERIMENTS = ('srseg_demo_x4', 'sr2_demo_mnist5k_x4_stage2', 'tad_demo_x2', 'tad_demo_x2_no_tad', 'ssg_tiny',
               'demo_msrresnet_x4')


def page_data(out):
    html = open(os.path.join(out, 'index.html'), encoding='utf-8').read()
    blob = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(blob.replace('<\\/', '</'))


@pytest.fixture(scope='module')
def report(tiny_runs, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp('page') / 'report'
    proc = run_module(['mtsr_plugins.report', *[a for e in EXPERIMENTS for a in ('--exp', f'experiments/{e}')],
                       '-o', str(out)], cwd=str(tiny_runs))
    assert proc.returncode == 0, proc.stdout[-4000:]
    return str(out), page_data(out)


def rows(data, exp, set_name):
    (group,) = [g for g in data['table'] if g['exp'] == exp and g['set'] == set_name]
    return {r['label']: r for r in group['rows']}


def section(data, name):
    (s,) = [s for s in data['sections'] if s['name'] == name]
    return s


def newest(pattern):
    return open(sorted(glob.glob(pattern), key=os.path.getmtime)[-1]).read()


@pytest.mark.slow
def test_table_holds_what_the_runs_logged(report, tiny_runs, demo_root):  # noqa: F811
    _, data = report
    srseg = rows(data, 'srseg_demo_x4', 'demo_mosaic_val')
    assert srseg['ours']['values']['psnr'] == \
        logged_metric(newest(f'{tiny_runs}/results/srseg_demo_x4/test_srseg_demo_x4_*.log'), 'psnr')
    assert srseg['ours (last validation)']['values']['miou'] == \
        logged_metric(newest(f'{tiny_runs}/experiments/srseg_demo_x4/train_*.log'), 'miou')
    mosaic = f'{demo_root}/mosaic/val'
    bicubic = load_script('demo_table').bicubic_psnr(f'{mosaic}/LR_x4', f'{mosaic}/HR', 4, 4)
    assert srseg['bicubic']['values']['psnr'] == pytest.approx(bicubic, abs=1e-6)
    tad = rows(data, 'tad_demo_x2', 'demo_photos_val')
    assert tad['no_tad (decoder on the plain bicubic LR): tad_demo_x2_no_tad']['values']['psnr'] == \
        logged_metric(newest(f'{tiny_runs}/results/tad_demo_x2_no_tad/test_tad_demo_x2_no_tad_*.log'), 'psnr')
    assert tad['ours']['values']['psnr'] == \
        logged_metric(newest(f'{tiny_runs}/results/tad_demo_x2/test_tad_demo_x2_*.log'), 'psnr')
    assert not [g for g in data['table'] if g['exp'] == 'tad_demo_x2_no_tad']  # shown as TAD's baseline only
    sr2 = rows(data, 'sr2_demo_mnist5k_x4_stage2', 'mnist5k_val')
    assert sr2['FSRCNN alone (SR only): sr2_demo_mnist5k_x4_stage1']['values']['ssim'] == \
        logged_metric(newest(f'{tiny_runs}/experiments/sr2_demo_mnist5k_x4_stage1/train_*.log'), 'ssim')
    assert sr2['ours']['values']['acc'] == \
        logged_metric(newest(f'{tiny_runs}/experiments/sr2_demo_mnist5k_x4_stage2/train_*.log'), 'acc')
    plain = rows(data, 'demo_msrresnet_x4', 'demo_photos_val')
    assert plain['ours']['values']['psnr'] == \
        logged_metric(newest(f'{tiny_runs}/experiments/demo_msrresnet_x4/train_*.log'), 'psnr')
    assert all(r['kind'] != 'paper' for g in data['table'] for r in g['rows'])  # no demo setting is a paper's


@pytest.mark.slow
def test_each_method_shows_its_own_pictures(report, tiny_runs):  # noqa: F811
    out, data = report
    for s in data['sections']:
        entries = [e for _, es in s['sets'] for e in es]
        assert entries, s['name']
        for e in entries:
            assert [label for label, _ in e['slider']][0::2] == ['bicubic', 'ground truth']
            assert e['crops'] and all(len(c['images']) == 3 for c in e['crops'])
        assert s['curves'], s['name']
    extras = lambda name: [label for label, _ in section(data, name)['sets'][0][1][0]['extras']]  # noqa: E731
    assert extras('srseg_demo_x4') == ['predicted classes', 'overlay on the SR image', 'true classes']
    assert extras('ssg_tiny') == ['predicted classes', 'overlay on the SR image', 'true classes']
    assert not section(data, 'ssg_tiny')['notes']  # the class map came back from the recorded overlay
    assert extras('tad_demo_x2') == ['stored 8-bit SLR', 'plain bicubic LR', '|SLR - bicubic LR| x 10']
    assert [n for n, _ in section(data, 'srseg_demo_x4')['legend']] == ['others', 'buildings', 'plants', 'ground']
    captions = [c for c, _ in section(data, 'sr2_demo_mnist5k_x4_stage2')['figures']]
    assert any('first 16 digits' in c for c in captions) and any('confusion matrix of 40 digits' in c for c in captions)
    assert section(data, 'demo_msrresnet_x4')['curves_source'] == 'tensorboard events'
    # the TAD SLR shown is the one mtsr-test stored
    tad = section(data, 'tad_demo_x2')['sets'][0][1][0]
    shown = cv2.imread(os.path.join(out, dict(tad['extras'])['stored 8-bit SLR']))
    vis = f'{tiny_runs}/results/tad_demo_x2/visualization/demo_photos_val'
    stored = cv2.imread(f'{vis}/{tad["name"]}_tad_demo_x2_SLR.png')
    assert shown is not None and np.array_equal(shown, stored)
    srcs = [src for s in data['sections'] for src in [s['curves']] + [f for _, f in s['figures']]]
    assert all(os.path.isfile(os.path.join(out, src)) for src in srcs)


def _png(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.slow
def test_in_chromium_the_page_loads_every_image_and_the_slider_moves(report, chromium):  # noqa: F811
    out, data = report
    page = chromium.new_page()
    errors, requests = [], []
    page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('request', lambda r: requests.append(r.url))
    page.goto('file://' + os.path.join(out, 'index.html'))
    page.wait_for_selector('body[data-ready="1"]')
    page.wait_for_function('Array.from(document.images).every(i => i.complete)')
    assert errors == []
    assert requests and all(u.startswith('file://') for u in requests)  # nothing from the network
    broken = page.evaluate('Array.from(document.images).filter(i => !(i.naturalWidth > 0)).map(i => i.src)')
    assert broken == []
    assert page.evaluate('document.images.length') >= sum(
        len(e['slider']) for s in data['sections'] for _, es in s['sets'] for e in es)
    # the table shows the logged numbers as BasicSR prints them (4 decimals)
    srseg = rows(data, 'srseg_demo_x4', 'demo_mosaic_val')['ours']['values']['psnr']
    cell = page.locator('td[data-exp="srseg_demo_x4"][data-kind="ours"][data-metric="psnr"]').first
    assert cell.inner_text() == f'{srseg:.4f}'
    assert page.locator('#metrics-table tbody tr').count() == sum(len(g['rows']) for g in data['table'])
    # dragging the first slider's divider changes the picture; its left side then shows the left layer
    box = page.locator('.slider').first
    box.scroll_into_view_if_needed()
    left, right = box.get_attribute('data-left'), box.get_attribute('data-right')
    assert (left, right) == ('bicubic', 'SR')  # the first pair of the first slider (SRSEG)
    before = _png(box.screenshot())
    r = box.bounding_box()
    page.mouse.move(r['x'] + r['width'] * 0.5, r['y'] + r['height'] / 2)
    page.mouse.down()
    page.mouse.move(r['x'] + r['width'] * 0.9, r['y'] + r['height'] / 2, steps=5)
    page.mouse.up()
    assert float(box.get_attribute('data-pos')) == pytest.approx(90, abs=2)
    after = _png(box.screenshot())
    h, w = after.shape[:2]
    band = (slice(h // 4, 3 * h // 4), slice(int(w * 0.6), int(w * 0.8)))  # right of 50 %, left of 90 %
    assert np.abs(before[band].astype(int) - after[band].astype(int)).mean() > 1
    page.mouse.move(r['x'] + r['width'] * 0.9, r['y'] + r['height'] / 2)
    page.mouse.down()
    page.mouse.move(r['x'] + r['width'] * 0.3, r['y'] + r['height'] / 2, steps=5)
    page.mouse.up()
    back = _png(box.screenshot())
    assert np.abs(back[band].astype(int) - before[band].astype(int)).mean() < 1  # that band shows the right layer
    page.close()
