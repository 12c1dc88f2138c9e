"""Statistics of the routes SLER-IR takes on test sets.

A route is the expert index chosen at each routed backbone layer for one
image (K indices in ``[0, C)``). For each test set these helpers give the
histogram of distinct routes ("paths"), the share of the set on its most
common path (purity), and each layer's expert usage; for the router, the
angles between its expert centers. Used by
``tools/analysis_tools/route_stats.py``.
"""
from collections import Counter, OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence[Sequence[int]]]


def _as_routes(routes: ArrayLike,
               num_experts: Optional[int] = None) -> np.ndarray:
    if isinstance(routes, torch.Tensor):
        routes = routes.detach().cpu().numpy()
    routes = np.asarray(routes)
    if routes.ndim != 2 or routes.shape[0] == 0 or routes.shape[1] == 0:
        raise ValueError('routes must be a non-empty (N, K) array of expert '
                         f'indices, got shape {routes.shape}')
    if not np.issubdtype(routes.dtype, np.integer):
        raise ValueError(
            f'routes must hold integer expert indices, got {routes.dtype}')
    if routes.min() < 0 or (num_experts is not None
                            and routes.max() >= num_experts):
        raise ValueError(f'routes must hold expert indices in [0, '
                         f'{num_experts}), got {routes.min()}..'
                         f'{routes.max()}')
    return routes.astype(np.int64)


def path_histogram(routes: ArrayLike) -> List[tuple]:
    """``(path, count)`` of each distinct route, most common first (ties in
    path order, so the result does not depend on the image order).

    Args:
        routes (array-like): (N, K) expert indices, one row per image.
    """
    counts = Counter(map(tuple, _as_routes(routes).tolist()))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def route_purity(routes: ArrayLike) -> float:
    """The share of images on the most common path, in (0, 1]."""
    routes = _as_routes(routes)
    return path_histogram(routes)[0][1] / routes.shape[0]


def expert_usage(routes: ArrayLike, num_experts: int) -> np.ndarray:
    """(K, C) share of the images that take each expert at each layer (each
    row sums to 1)."""
    if isinstance(num_experts, bool) or not isinstance(num_experts, int) \
            or num_experts < 1:
        raise ValueError(
            f'num_experts must be an int >= 1, got {num_experts!r}')
    routes = _as_routes(routes, num_experts)
    counts = np.stack([
        np.bincount(layer, minlength=num_experts) for layer in routes.T
    ])
    return counts / routes.shape[0]


def summarize_routes(routes: ArrayLike,
                     num_experts: int,
                     top_k: int = 5) -> dict:
    """Everything the route report shows for one test set.

    Args:
        routes (array-like): (N, K) expert indices, one row per image.
        num_experts (int): Experts per layer (C).
        top_k (int): Paths kept in ``top_paths``. Defaults to 5.

    Returns:
        dict: ``num_images``, ``num_layers``, ``num_experts``,
        ``num_paths`` (distinct routes), ``purity``, ``top_paths`` (list of
        ``dict(path, count, share)``, most common first) and
        ``expert_usage`` ((K, C) nested list of shares).
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f'top_k must be an int >= 1, got {top_k!r}')
    routes = _as_routes(routes, num_experts)
    n = routes.shape[0]
    hist = path_histogram(routes)
    return dict(
        num_images=n,
        num_layers=routes.shape[1],
        num_experts=num_experts,
        num_paths=len(hist),
        purity=hist[0][1] / n,
        top_paths=[
            dict(path=list(path), count=count, share=count / n)
            for path, count in hist[:top_k]
        ],
        expert_usage=expert_usage(routes, num_experts).tolist())


def _pairwise_angles(centers: np.ndarray) -> np.ndarray:
    unit = centers / np.linalg.norm(centers, axis=-1, keepdims=True).clip(
        min=1e-12)
    return np.degrees(np.arccos(np.clip(unit @ unit.T, -1.0, 1.0)))


def center_angles(centers: Union[np.ndarray, torch.Tensor]) -> dict:
    """Pairwise angles (degrees) between a router's expert centers.

    Args:
        centers (Tensor | ndarray): (C, d) centers shared by all layers, or
            (K, C, d) per-layer centers.

    Returns:
        dict: ``per_layer`` (bool), ``min`` and ``mean`` over all pairs (of
        all layers; None with one expert) and ``groups``: one
        ``dict(min, mean, angles)`` per center set (one, or K), ``angles``
        the (C, C) matrix.
    """
    if isinstance(centers, torch.Tensor):
        centers = centers.detach().float().cpu().numpy()
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim not in (2, 3):
        raise ValueError('centers must be (C, d) or (K, C, d), got shape '
                         f'{centers.shape}')
    per_layer = centers.ndim == 3
    groups, pairs = [], []
    for group in (centers if per_layer else centers[None]):
        angles = _pairwise_angles(group)
        upper = angles[np.triu_indices(len(group), k=1)]
        pairs.append(upper)
        groups.append(
            dict(
                min=float(upper.min()) if upper.size else None,
                mean=float(upper.mean()) if upper.size else None,
                angles=angles.round(3).tolist()))
    every = np.concatenate(pairs)
    return dict(
        per_layer=per_layer,
        min=float(every.min()) if every.size else None,
        mean=float(every.mean()) if every.size else None,
        groups=groups)


def format_path(path: Sequence[int]) -> str:
    """``0-2-1-...``: a route as one token."""
    return '-'.join(str(int(i)) for i in path)


def _num(value: Optional[float], digits: int = 1) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def format_route_stats(sets: Mapping[str, dict],
                       centers: Optional[dict] = None) -> str:
    """The route report as Markdown tables.

    Args:
        sets (Mapping[str, dict]): Test set name -> :func:`summarize_routes`
            result, in report order.
        centers (dict, optional): :func:`center_angles` of the router.

    Returns:
        str: Per set: images, distinct paths, purity and the top paths;
        per set and layer: each expert's share of the images (percent,
        ``E0/E1/...``); then the center angles.
    """
    lines = [
        '| test set | images | distinct paths | purity | most common '
        'paths (share) |', '|---|---|---|---|---|'
    ]
    for name, s in sets.items():
        top = ', '.join(f'{format_path(p["path"])} ({p["share"]:.0%})'
                        for p in s['top_paths'])
        lines.append(f'| {name} | {s["num_images"]} | {s["num_paths"]} | '
                     f'{s["purity"]:.3f} | {top} |')
    tops: Dict[str, List[str]] = OrderedDict()
    for name, s in sets.items():
        tops.setdefault(format_path(s['top_paths'][0]['path']),
                        []).append(name)
    shared = [names for names in tops.values() if len(names) > 1]
    lines.append('')
    if shared:
        lines.append('Sets sharing their most common path: ' + '; '.join(
            ', '.join(names) for names in shared))
    else:
        lines.append('Every set has its own most common path.')

    if sets:
        first = next(iter(sets.values()))
        num_layers, num_experts = first['num_layers'], first['num_experts']
        experts = '/'.join(f'E{i}' for i in range(num_experts))
        layers = ' | '.join(f'L{k + 1}' for k in range(num_layers))
        lines += [
            '', f'Expert usage per layer (% of the set\'s images, {experts})',
            f'| test set | {layers} |', '|---|' + '---|' * num_layers
        ]
        for name, s in sets.items():
            cells = ['/'.join(f'{100 * u:.0f}' for u in layer)
                     for layer in s['expert_usage']]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')

    if centers is not None:
        lines += ['', 'Expert center angles (degrees)',
                  '| centers | min | mean |', '|---|---|---|']
        if centers['per_layer']:
            for k, g in enumerate(centers['groups']):
                lines.append(f'| L{k + 1} | {_num(g["min"])} | '
                             f'{_num(g["mean"])} |')
        lines.append(f'| {"all layers" if centers["per_layer"] else "shared"}'
                     f' | {_num(centers["min"])} | {_num(centers["mean"])} |')
    return '\n'.join(lines)


def plot_expert_usage(sets: Mapping[str, dict], out_file: str) -> str:
    """Save a heat map of expert usage: test sets x (layer, expert).

    Uses Matplotlib's Agg canvas directly (no pyplot), so it needs no
    display and leaves the caller's Matplotlib backend alone.

    Args:
        sets (Mapping[str, dict]): Test set name -> :func:`summarize_routes`
            result.
        out_file (str): Image file to write (e.g. ``route_stats.png``).

    Returns:
        str: ``out_file``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not sets:
        raise ValueError('plot_expert_usage needs at least one test set')
    names = list(sets)
    first = sets[names[0]]
    num_layers, num_experts = first['num_layers'], first['num_experts']
    usage = np.array([
        np.asarray(sets[n]['expert_usage']).reshape(-1) for n in names
    ])
    width = max(6.0, 0.35 * usage.shape[1] + 2.5)
    fig = Figure(figsize=(width, 1.0 + 0.55 * len(names)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(usage, vmin=0, vmax=1, cmap='viridis', aspect='auto')
    for (row, col), value in np.ndenumerate(usage):
        ax.text(col, row, f'{100 * value:.0f}', ha='center', va='center',
                fontsize=7, color='white' if value < 0.6 else 'black')
    # One tick per layer, centred on its experts; lines between layers.
    ax.set_xticks([k * num_experts + (num_experts - 1) / 2
                   for k in range(num_layers)])
    ax.set_xticklabels([f'L{k + 1}' for k in range(num_layers)])
    for k in range(1, num_layers):
        ax.axvline(k * num_experts - 0.5, color='white', linewidth=2)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([
        f'{n} (purity {sets[n]["purity"]:.2f})' for n in names])
    ax.set_xlabel(f'layer (experts E0..E{num_experts - 1} left to right)')
    ax.set_title('Expert usage per test set (% of images)')
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    return out_file
