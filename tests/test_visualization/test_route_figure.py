import cv2
import numpy as np
import pytest
import torch

from sler_ir_mm.visualization import (DEFAULT_LAYER_NAMES, draw_route,
                                      save_route_figure)
from sler_ir_mm.visualization import route_figure
from sler_ir_mm.visualization.route_figure import (_CELL_COLOR,
                                                   _CHOSEN_COLOR,
                                                   _PATH_COLOR)

ROUTE = [2, 0, 0, 1, 0, 2, 1, 0]


def is_color(img: np.ndarray, hex_color: str) -> np.ndarray:
    color = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return np.abs(img.astype(int) - color).sum(-1) < 10


def chosen_pixels(img: np.ndarray) -> int:
    return int(is_color(img, _CHOSEN_COLOR).sum())


def draw_with_figure(monkeypatch, *args, **kwargs):
    """``draw_route``'s picture and the matplotlib figure it drew."""
    figures = []
    build = route_figure._route_figure

    def spy(*a, **k):
        figures.append(build(*a, **k))
        return figures[-1]

    monkeypatch.setattr(route_figure, '_route_figure', spy)
    img = draw_route(*args, **kwargs)
    monkeypatch.undo()
    assert len(figures) == 1
    return img, figures[0]


def cell_pixels(img, fig, layer, expert, margin=0.3):
    """The picture's pixels in the middle of a grid cell (the cell is
    layer +- 0.4, expert +- 0.35 in data units; ``margin`` of that is left
    out at each side)."""
    ax = fig.axes[0]
    (x0, y0), (x1, y1) = ax.transData.transform([
        (layer - 0.4 * (1 - margin), expert - 0.35 * (1 - margin)),
        (layer + 0.4 * (1 - margin), expert + 0.35 * (1 - margin))
    ])
    # Display coordinates count pixels up from the bottom.
    height = img.shape[0]
    rows = sorted([height - y0, height - y1])
    cols = sorted([x0, x1])
    return img[int(np.ceil(rows[0])):int(rows[1]),
               int(np.ceil(cols[0])):int(cols[1])]


def cell_center(img, fig, layer, expert):
    x, y = fig.axes[0].transData.transform((layer, expert))
    return img[int(round(img.shape[0] - y)), int(round(x))]


@pytest.mark.parametrize('route, num_experts', [(ROUTE, 3),
                                                ([4, 0, 3, 1, 2], 5)])
def test_each_layer_fills_the_cell_of_its_expert(monkeypatch, route,
                                                 num_experts):
    img, fig = draw_with_figure(monkeypatch, route, num_experts)
    assert fig.canvas.get_width_height() == (img.shape[1], img.shape[0])
    for layer, chosen in enumerate(route):
        for expert in range(num_experts):
            cell = cell_pixels(img, fig, layer, expert)
            assert cell.size > 0
            share = is_color(cell, _CHOSEN_COLOR).mean()
            if expert == chosen:
                # Filled, crossed only by the path line (measured: >= 85%).
                assert share > 0.6, (layer, expert, share)
                # The path's marker sits on the chosen cell.
                assert is_color(cell_center(img, fig, layer, expert)[None],
                                _PATH_COLOR).all(), (layer, expert)
            else:
                assert share == 0, (layer, expert, share)
                assert is_color(cell, _CELL_COLOR).mean() > 0.5
    # Columns are layers left to right, rows experts with E1 on top.
    ax = fig.axes[0]
    xs, ys = ax.transData.transform([(0, 0), (1, 1)]).T
    assert xs[1] > xs[0] and ys[1] < ys[0]  # display y grows upwards


def test_layer_and_expert_labels(monkeypatch):
    _, fig = draw_with_figure(monkeypatch, ROUTE, 3, title='noisy.png')
    ax = fig.axes[0]
    # Each layer's name under its column, each expert's name at its row.
    np.testing.assert_array_equal(ax.get_xticks(), np.arange(8))
    assert [t.get_text() for t in ax.get_xticklabels()] == \
        list(DEFAULT_LAYER_NAMES) == ['enc1', 'enc2', 'enc3', 'latent',
                                      'dec3', 'dec2', 'dec1', 'refine']
    assert all(t.get_visible() for t in ax.get_xticklabels())
    np.testing.assert_array_equal(ax.get_yticks(), np.arange(3))
    assert [t.get_text() for t in ax.get_yticklabels()] == ['E1', 'E2', 'E3']
    assert ax.get_title() == 'noisy.png'
    _, fig = draw_with_figure(monkeypatch, [1, 0, 1], 2,
                              layer_names=['a', 'b', 'c'])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == \
        ['a', 'b', 'c']
    # Not 8 layers: numbered names.
    _, fig = draw_with_figure(monkeypatch, [1, 0, 1], 2)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == \
        ['L1', 'L2', 'L3']
    # The names are drawn: other names, another picture below the grid.
    names = draw_route([1, 0, 1], 2, layer_names=['a', 'b', 'c'])
    other = draw_route([1, 0, 1], 2, layer_names=['x', 'y', 'z'])
    assert names.shape == other.shape and not np.array_equal(names, other)


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
