import math

import numpy as np
import pytest
import torch

from sler_ir_mm.evaluation.route_stats import training_paths
from sler_ir_mm.models.routers import SphericalRouter
from sler_ir_mm.evaluation.route_stats import (center_angles, expert_usage,
                                          format_path, format_route_stats,
                                          path_histogram, plot_expert_usage,
                                          route_purity, summarize_routes)

ROUTES = [
    [0, 1, 2],
    [0, 1, 2],
    [0, 1, 2],
    [1, 1, 0],
    [2, 0, 0],
]


def test_histogram_purity_usage():
    assert path_histogram(ROUTES) == [((0, 1, 2), 3), ((1, 1, 0), 1),
                                      ((2, 0, 0), 1)]
    assert route_purity(torch.tensor(ROUTES)) == pytest.approx(0.6)
    usage = expert_usage(np.array(ROUTES), num_experts=3)
    assert usage.shape == (3, 3)
    np.testing.assert_allclose(usage.sum(1), 1.0)
    np.testing.assert_allclose(usage[0], [0.6, 0.2, 0.2])
    np.testing.assert_allclose(usage[2], [0.4, 0.0, 0.6])
    # Ties: path order, whatever the image order.
    assert path_histogram([[1, 0], [0, 1]]) == [((0, 1), 1), ((1, 0), 1)]


def test_summarize_routes():
    s = summarize_routes(ROUTES, num_experts=3, top_k=2)
    assert s['num_images'] == 5 and s['num_layers'] == 3
    assert s['num_paths'] == 3 and s['purity'] == pytest.approx(0.6)
    assert s['top_paths'][0] == dict(path=[0, 1, 2], count=3, share=0.6)
    assert len(s['top_paths']) == 2
    assert np.asarray(s['expert_usage']).shape == (3, 3)


@pytest.mark.parametrize('routes,match', [
    ([], 'non-empty'),
    ([[0, 3]], r'\[0, 3\)'),
    ([[-1, 0]], 'expert indices'),
    ([[0.5, 1.0]], 'integer'),
])
def test_bad_routes(routes, match):
    with pytest.raises(ValueError, match=match):
        summarize_routes(routes, num_experts=3)


def test_bad_arguments():
    with pytest.raises(ValueError, match='num_experts'):
        expert_usage(ROUTES, num_experts=0)
    with pytest.raises(ValueError, match='top_k'):
        summarize_routes(ROUTES, num_experts=3, top_k=0)
    with pytest.raises(ValueError, match='centers'):
        center_angles(torch.zeros(3))


def test_center_angles_shared_and_per_layer():
    shared = center_angles(torch.tensor([[1., 0.], [0., 2.], [-1., 0.]]))
    assert not shared['per_layer']
    assert shared['min'] == pytest.approx(90.0)
    assert shared['mean'] == pytest.approx((90 + 180 + 90) / 3)
    angles = np.array(shared['groups'][0]['angles'])
    assert angles.shape == (3, 3) and np.allclose(np.diag(angles), 0)

    router = SphericalRouter(in_channels=4, num_layers=2, num_experts=3,
                             embed_dim=8, per_layer_centers=True)
    per_layer = center_angles(router.centers)
    assert per_layer['per_layer'] and len(per_layer['groups']) == 2
    assert per_layer['min'] == pytest.approx(
        min(g['min'] for g in per_layer['groups']))
    # The router logs the same smallest angle.
    assert per_layer['min'] == pytest.approx(
        float(router.routing_stats()['min_center_angle']), abs=1e-3)

    single = center_angles(np.ones((1, 4)))
    assert single['min'] is None and single['mean'] is None


def test_format_and_plot(tmp_path):
    sets = dict(
        noise=summarize_routes(ROUTES, 3),
        dark=summarize_routes([[0, 1, 2]], 3))
    centers = center_angles(torch.eye(3))
    text = format_route_stats(sets, centers)
    assert '| noise | 5 | 3 | 0.600 | 0-1-2 (60%), 1-1-0 (20%), ' \
        '2-0-0 (20%) |' in text
    assert '| dark | 1 | 1 | 1.000 | 0-1-2 (100%) |' in text
    assert 'Sets sharing their most common path: noise, dark' in text
    assert '| noise | 60/20/20 | 20/80/0 | 40/0/60 |' in text
    assert '| shared | 90.0 | 90.0 |' in text
    assert format_path((3, 0, 1)) == '3-0-1'
    out = plot_expert_usage(sets, str(tmp_path / 'usage.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(ValueError, match='at least one'):
        plot_expert_usage({}, str(tmp_path / 'none.png'))
    assert math.isclose(sets['dark']['purity'], 1.0)


def test_nmi():
    from sler_ir_mm.evaluation.route_stats import normalized_mutual_information
    tasks = ['a', 'a', 'b', 'b', 'c', 'c']
    # Every task its own path: 1. One path for all: 0.
    assert normalized_mutual_information([1, 1, 2, 2, 3, 3], tasks) == \
        pytest.approx(1.0)
    assert normalized_mutual_information([0] * 6, tasks) == 0.0
    # Two of three tasks merged: in between (H(T)=log 3, I = log 3 -
    # (2/3) log 2, H(P) = H(1/3, 2/3)).
    h_t = math.log(3)
    h_p = -(1 / 3) * math.log(1 / 3) - (2 / 3) * math.log(2 / 3)
    mi = h_t - (2 / 3) * math.log(2)
    assert normalized_mutual_information([1, 1, 1, 1, 2, 2], tasks) == \
        pytest.approx(mi / ((h_t + h_p) / 2))
    with pytest.raises(ValueError, match='one length'):
        normalized_mutual_information([0], tasks)


def test_task_routing_and_layer_balance():
    from sler_ir_mm.evaluation.route_stats import layer_balance, task_routing
    routes = [[0, 1], [0, 1], [0, 1], [1, 1], [1, 0], [1, 0]]
    tasks = ['noise', 'noise', 'rain', 'rain', 'haze', 'haze']
    s = task_routing(routes, tasks)
    assert list(s['tasks']) == ['noise', 'rain', 'haze']
    assert s['tasks']['noise'] == dict(num_images=2, main_path=[0, 1],
                                       purity=1.0, num_paths=1)
    # rain: a tie between 0-1 and 1-1 -> path order: 0-1, shared with noise
    assert s['tasks']['rain']['main_path'] == [0, 1]
    assert s['tasks']['rain']['purity'] == 0.5
    assert s['task_paths'] == 2 and s['shared'] == [['noise', 'rain']]
    assert 0 < s['nmi'] < 1
    # Layer 1 splits the images 3/3 over 2 of 3 experts; layer 2 4/2.
    balance = layer_balance(routes, 3)
    assert balance[0] == pytest.approx(math.log(2) / math.log(3))
    p = np.array([2 / 6, 4 / 6])
    assert balance[1] == pytest.approx(-(p * np.log(p)).sum() / math.log(3))
    assert layer_balance([[0, 0], [0, 0]], 3).tolist() == [0.0, 0.0]


def test_class_pair_cosines():
    from sler_ir_mm.evaluation.route_stats import class_pair_cosines
    e = np.array([[1., 0.], [1., 0.], [0., 1.], [-1., 0.]])[:, None]
    out = class_pair_cosines(e, ['a', 'a', 'b', 'c'])
    assert out['tasks'] == ['a', 'b', 'c']
    cos = out['cosine']
    assert cos[0][0] == pytest.approx(1.0)  # within a: the one pair
    assert cos[1][1] is None  # b has one image
    assert cos[0][1] == pytest.approx(0.0) and cos[0][2] == -1.0
    assert cos[1][2] == pytest.approx(0.0)
    # Mean over layers: a second layer where a and c agree.
    two = np.concatenate([e, np.array([[1., 0.]] * 4)[:, None]], axis=1)
    assert class_pair_cosines(two, ['a', 'a', 'b', 'c'])['cosine'][0][2] \
        == pytest.approx(0.0)


def test_routing_diagnostics_and_format(tmp_path):
    from sler_ir_mm.evaluation.route_stats import (format_task_routing,
                                              plot_cosine_matrices,
                                              routing_diagnostics)
    routes = np.array([[0, 1], [0, 1], [2, 2], [2, 2]])
    emb = np.array([[1., 0.], [1., 0.], [0., 1.], [0., 1.]])[:, None]
    emb = np.repeat(emb, 2, axis=1)
    test = routing_diagnostics(routes, emb, ['a', 'a', 'b', 'b'], 3)
    train = routing_diagnostics(routes[::-1], emb, ['a', 'a', 'b', 'b'], 3)
    assert test['task_paths'] == 2 and test['nmi'] == pytest.approx(1.0)
    assert test['min_purity'] == 1.0
    assert test['expert_usage']['a'] == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    text = format_task_routing(dict(test=test, train=train),
                               dict(a='Noise'))
    assert '| Noise | 0-1 (1.00, 1) | 2-2 (1.00, 1) | no |' in text
    assert '| b | 2-2 (1.00, 1) | 0-1 (1.00, 1) | no |' in text
    assert '- test (4 images): 2 distinct main paths for 2 tasks, ' \
        'NMI(path, task) 1.000' in text
    assert '| Noise | 1.00 | 0.00 |' in text
    out = plot_cosine_matrices(dict(test=test), str(tmp_path / 'cos.png'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_training_paths_reads_the_training_split():
    stats = dict(splits=dict(train=dict(tasks=dict(
        derain=dict(main_path=[0, 2, 1]), dehaze=dict(main_path=[1, 1, 0])))))
    assert training_paths(stats) == dict(derain=[0, 2, 1], dehaze=[1, 1, 0])
    with pytest.raises(ValueError, match='no training split'):
        training_paths(dict(splits=dict(test={})))
