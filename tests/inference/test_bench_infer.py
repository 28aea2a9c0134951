"""scripts/bench_infer.py --methods: every case builds its paper network and times the output a user gets."""
import pytest
import torch

from conftest import load_script


def bench_module():
    return load_script('bench_infer')


@pytest.mark.parametrize('method, keys, out_shape', [
    ('srseg', {'sr'}, (3, 32, 24)),
    ('sr2', {'sr', 'probs'}, (1, 28, 28)),
    ('ssg_rwsr', {'sr'}, (3, 32, 24)),
    ('tad', {'slr', 'shr'}, (3, 32, 24)),
])
def test_each_case_runs_its_network_and_its_peer(method, keys, out_shape):
    bench = bench_module()
    pair = bench.cases(method)
    assert len(pair) == 2  # the method's network, then its peer
    for i, (name, model, kind) in enumerate(pair):
        runner = bench.make_runner(bench.loaded_model(model), device='cpu', precision='fp32')
        x = bench.make_input(kind, 2, 6, 8, torch.device('cpu'))  # LR 6x8 (w x h)
        results = runner.process(x)
        assert len(results) == 2
        expected = {'sr'} if (method, i) == ('sr2', 1) else keys  # the SR² peer has no classifier
        assert set(results[0]) == expected, name
        image = results[0].get('sr', results[0].get('shr'))
        assert tuple(image.shape) == out_shape, name
    if method == 'tad':  # the peer is no_tad: the SLR is the bicubic guidance, not the learned encoder's
        assert bench.loaded_model(pair[1][1]).opt['tad']['no_tad'] is True
        assert tuple(results[0]['slr'].shape) == (3, 8, 6)
