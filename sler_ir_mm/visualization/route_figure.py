"""Draw an image's route through the routed layers (paper Fig. 4 style).

One column per routed layer, one row per expert; the expert each layer
chose is filled and a line joins the chosen cells, so routes of different
degradations can be compared at a glance.
"""
import numbers
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

__all__ = ['DEFAULT_LAYER_NAMES', 'draw_route', 'save_route_figure']

#: SLERNet's routed layers, in route order.
DEFAULT_LAYER_NAMES = ('enc1', 'enc2', 'enc3', 'latent', 'dec3', 'dec2',
                       'dec1', 'refine')

_CELL_COLOR = '#e8e8e8'
_CHOSEN_COLOR = '#1f77b4'
_PATH_COLOR = '#d62728'


def _check_route(route, num_experts: int,
                 layer_names: Optional[Sequence[str]]):
    if isinstance(num_experts, bool) or not isinstance(
            num_experts, numbers.Integral) or num_experts < 1:
        raise ValueError(
            f'num_experts must be an int >= 1, got {num_experts!r}')
    if hasattr(route, 'detach'):  # a torch tensor
        route = route.detach().cpu().numpy()
    route = np.asarray(route)
    if route.ndim == 2 and route.shape[0] == 1:
        route = route[0]  # a batch of one image
    if route.ndim != 1 or route.size == 0:
        raise ValueError('route must be a 1-D sequence of expert indices '
                         f'(one per routed layer), got shape {route.shape}')
    if not np.issubdtype(route.dtype, np.integer):
        raise ValueError(f'route must hold integer expert indices, got '
                         f'dtype {route.dtype}')
    if route.min() < 0 or route.max() >= num_experts:
        raise ValueError(f'route indices must be in [0, {num_experts}), got '
                         f'{route.tolist()}')
    if layer_names is None:
        layer_names = (
            DEFAULT_LAYER_NAMES if route.size == len(DEFAULT_LAYER_NAMES) else
            [f'L{i + 1}' for i in range(route.size)])
    elif isinstance(layer_names, str) or len(layer_names) != route.size:
        raise ValueError(f'layer_names must give one name per routed layer '
                         f'({route.size}), got {layer_names!r}')
    return route.astype(np.int64), list(layer_names)


def _route_figure(route, num_experts: int,
                  layer_names: Optional[Sequence[str]], title: Optional[str],
                  dpi: int):
    # The object API with the Agg canvas: no pyplot state, no GUI backend,
    # safe in scripts, tests and threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    route, layer_names = _check_route(route, num_experts, layer_names)
    num_layers = route.size
    fig = Figure(
        figsize=(0.75 * num_layers + 1.2, 0.55 * num_experts + 1.3), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for layer in range(num_layers):
        for expert in range(num_experts):
            chosen = route[layer] == expert
            ax.add_patch(
                Rectangle((layer - 0.4, expert - 0.35),
                          0.8,
                          0.7,
                          facecolor=_CHOSEN_COLOR if chosen else _CELL_COLOR,
                          edgecolor='white',
                          zorder=1))
    ax.plot(
        np.arange(num_layers),
        route,
        color=_PATH_COLOR,
        linewidth=2,
        marker='o',
        markersize=5,
        zorder=2)
    ax.set_xlim(-0.5, num_layers - 0.5)
    # Expert 1 on top, as in the paper's figure.
    ax.set_ylim(num_experts - 0.5, -0.5)
    ax.set_xticks(np.arange(num_layers))
    ax.set_xticklabels(layer_names, rotation=45, ha='right')
    ax.set_yticks(np.arange(num_experts))
    ax.set_yticklabels([f'E{i + 1}' for i in range(num_experts)])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def draw_route(route: Sequence[int],
               num_experts: int,
               layer_names: Optional[Sequence[str]] = None,
               title: Optional[str] = None,
               dpi: int = 100) -> np.ndarray:
    """Draw a route: layers as columns, experts as rows, chosen cells joined.

    Args:
        route (Sequence[int] | np.ndarray | Tensor): The expert index of each
            routed layer, e.g. ``restore_image(...).route``.
        num_experts (int): Experts per layer (the rows).
        layer_names (Sequence[str], optional): Column labels, one per layer.
            Default: SLERNet's ``enc1 ... refine`` for 8 layers.
        title (str, optional): Title above the grid, e.g. the file name.
        dpi (int): Resolution of the picture. Default: 100.

    Returns:
        np.ndarray: The picture, (H, W, 3) uint8 RGB.
    """
    fig = _route_figure(route, num_experts, layer_names, title, dpi)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def save_route_figure(path: str,
                      route: Sequence[int],
                      num_experts: int,
                      layer_names: Optional[Sequence[str]] = None,
                      title: Optional[str] = None,
                      dpi: int = 100) -> None:
    """Draw a route (see :func:`draw_route`) and save it.

    Args:
        path (str): Output file; the extension picks the format (png, pdf,
            svg, ...). Missing folders are made.
        route, num_experts, layer_names, title, dpi: As for
            :func:`draw_route`.
    """
    fig = _route_figure(route, num_experts, layer_names, title, dpi)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi)
