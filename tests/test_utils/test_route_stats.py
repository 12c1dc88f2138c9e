import math

import numpy as np
import pytest
import torch

from sler_ir_mm.models.routers import SphericalRouter
from sler_ir_mm.utils.route_stats import (center_angles, expert_usage,
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
