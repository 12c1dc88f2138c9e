import cv2
import numpy as np
import pytest
import torch

from sler_ir_mm.visualization import draw_route, save_route_figure
from sler_ir_mm.visualization.route_figure import _CHOSEN_COLOR

ROUTE = [2, 0, 0, 1, 0, 2, 1, 0]


def chosen_pixels(img: np.ndarray) -> int:
    color = np.array([int(_CHOSEN_COLOR[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img.astype(int) - color).sum(-1) < 10).sum())


def test_draw_route_gives_an_rgb_picture():
    img = draw_route(ROUTE, num_experts=3, title='noisy.png')
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    # Wider than high: 8 layer columns, 3 expert rows.
    assert img.shape[1] > img.shape[0] > 100
    # One filled cell per layer, and a different route draws differently.
    assert chosen_pixels(img) > 0
    other = draw_route([0] * 8, num_experts=3, title='noisy.png')
    assert other.shape == img.shape and not np.array_equal(other, img)
    # More experts, more rows.
    assert draw_route(ROUTE, num_experts=5).shape[0] > img.shape[0]


def test_route_forms_and_layer_names():
    as_list = draw_route(ROUTE, 3)
    np.testing.assert_array_equal(
        draw_route(torch.tensor([ROUTE]), 3), as_list)
    np.testing.assert_array_equal(draw_route(np.array(ROUTE), 3), as_list)
    assert draw_route([1, 0, 1], 2, layer_names=['a', 'b', 'c']).ndim == 3


@pytest.mark.parametrize('route, num_experts, names, match', [
    ([0, 3, 1], 3, None, r'in \[0, 3\)'),
    ([-1, 0], 3, None, r'in \[0, 3\)'),
    ([[0, 1], [1, 0]], 3, None, '1-D'),
    ([], 3, None, '1-D'),
    ([0.0, 1.0], 3, None, 'integer'),
    ([0, 1], 0, None, 'num_experts'),
    ([0, 1], 2, ['only one'], 'layer_names'),
])
def test_bad_routes_are_refused(route, num_experts, names, match):
    with pytest.raises(ValueError, match=match):
        draw_route(route, num_experts, layer_names=names)


def test_save_route_figure(tmp_path):
    path = tmp_path / 'figs' / 'route.png'
    save_route_figure(str(path), ROUTE, 3, title='x')
    saved = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert saved is not None
    assert saved.shape == draw_route(ROUTE, 3, title='x').shape
