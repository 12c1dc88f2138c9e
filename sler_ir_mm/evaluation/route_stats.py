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


def training_paths(route_stats: Mapping) -> Dict[str, List[int]]:
    """Task -> its main path on the training patches, from the
    ``route_stats.json`` that ``tools/analysis_tools/route_stats.py``
    writes (what "on its task's path" means for a test image).

    Raises:
        ValueError: The file has no training split (it was written with
            ``--splits test`` only).
    """
    try:
        tasks = route_stats['splits']['train']['tasks']
    except (KeyError, TypeError):
        raise ValueError('no training split in this route_stats.json '
                         '(route_stats.py --splits train test)') from None
    return {t: [int(e) for e in v['main_path']] for t, v in tasks.items()}


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


def normalized_mutual_information(labels_a: Sequence,
                                  labels_b: Sequence) -> float:
    """NMI of two labelings of the same items, in [0, 1].

    ``I(A; B) / ((H(A) + H(B)) / 2)`` (the arithmetic normalisation): 1 when
    each labeling determines the other (every task its own path, and each
    path one task's), 0 when they are independent (e.g. one path for all
    tasks). Two constant labelings give 1.

    Args:
        labels_a (Sequence): Hashable labels, e.g. paths as tuples.
        labels_b (Sequence): Hashable labels of the same items, e.g. tasks.
    """
    if len(labels_a) != len(labels_b) or not len(labels_a):
        raise ValueError('labels_a and labels_b must be non-empty and of one '
                         f'length, got {len(labels_a)} and {len(labels_b)}')
    _, a = np.unique(np.array([str(x) for x in labels_a]),
                     return_inverse=True)
    _, b = np.unique(np.array([str(x) for x in labels_b]),
                     return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    pa, pb = joint.sum(1), joint.sum(0)

    def entropy(p: np.ndarray) -> float:
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    ha, hb = entropy(pa), entropy(pb)
    if ha == 0 and hb == 0:
        return 1.0
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    return max(0.0, min(1.0, mi / ((ha + hb) / 2)))


def layer_balance(routes: ArrayLike, num_experts: int) -> np.ndarray:
    """(K,) normalised entropy of each layer's expert usage (1 = the
    images spread evenly over the experts, 0 = one expert takes them all).
    Per layer, not pooled: pooled over layers, a router that sends every
    image to one expert at each layer (a different one per layer) would
    look balanced."""
    usage = expert_usage(routes, num_experts)
    if num_experts < 2:
        return np.ones(usage.shape[0])
    logs = np.log(np.where(usage > 0, usage, 1.0))
    # + 0.0 turns the -0.0 of a one-expert layer into 0.0.
    return (-(usage * logs).sum(1) / np.log(num_experts)).clip(0, 1) + 0.0


def task_routing(routes: ArrayLike, tasks: Sequence[str]) -> dict:
    """How routes separate tasks (degradations).

    Args:
        routes (array-like): (N, K) expert indices, one row per image.
        tasks (Sequence[str]): The task of each image.

    Returns:
        dict: ``tasks``: per task (first-seen order) ``num_images``,
        ``main_path`` (its most common route), ``purity`` (share on it) and
        ``num_paths``; ``task_paths`` (how many distinct routes the tasks'
        main paths are: 5 for five tasks is one path per task), ``nmi``
        (:func:`normalized_mutual_information` of route and task) and
        ``shared`` (groups of tasks with one main path).
    """
    routes = _as_routes(routes)
    tasks = [str(t) for t in tasks]
    if len(tasks) != routes.shape[0]:
        raise ValueError(f'got {len(tasks)} tasks for {routes.shape[0]} '
                         'routes')
    per_task = OrderedDict()
    for task in dict.fromkeys(tasks):
        rows = routes[[t == task for t in tasks]]
        hist = path_histogram(rows)
        per_task[task] = dict(
            num_images=int(rows.shape[0]),
            main_path=list(hist[0][0]),
            purity=hist[0][1] / rows.shape[0],
            num_paths=len(hist))
    owners: Dict[tuple, List[str]] = OrderedDict()
    for task, s in per_task.items():
        owners.setdefault(tuple(s['main_path']), []).append(task)
    return dict(
        tasks=per_task,
        task_paths=len(owners),
        nmi=normalized_mutual_information(list(map(tuple, routes.tolist())),
                                          tasks),
        shared=[names for names in owners.values() if len(names) > 1])


def class_pair_cosines(embeddings: Union[np.ndarray, torch.Tensor],
                       tasks: Sequence[str]) -> dict:
    """Mean cosine of the routing embeddings between and within tasks.

    Args:
        embeddings (Tensor | ndarray): (N, K, d) unit routing vectors (or
            (N, d)).
        tasks (Sequence[str]): The task of each row.

    Returns:
        dict: ``tasks`` (order of the matrix, first seen) and ``cosine``:
        (M, M) nested list, entry (a, b) the mean over layers and over image
        pairs of task a x task b of their routing vectors' cosine; the
        diagonal averages the pairs of distinct images of a task (1 =
        compact; None for a task with one image). Well separated tasks have
        a high diagonal and low off-diagonal entries.
    """
    if isinstance(embeddings, torch.Tensor):
        embeddings = embeddings.detach().float().cpu().numpy()
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim == 2:
        emb = emb[:, None]
    if emb.ndim != 3 or emb.shape[0] != len(tasks):
        raise ValueError(f'embeddings must be (N, K, d) with N = '
                         f'{len(tasks)} tasks, got shape {emb.shape}')
    emb = emb / np.linalg.norm(emb, axis=-1, keepdims=True).clip(min=1e-12)
    sim = np.einsum('ikd,jkd->ij', emb, emb) / emb.shape[1]
    names = list(dict.fromkeys(str(t) for t in tasks))
    index = np.array([names.index(str(t)) for t in tasks])
    matrix: List[List[Optional[float]]] = []
    for a in range(len(names)):
        row = []
        for b in range(len(names)):
            block = sim[np.ix_(index == a, index == b)]
            if a == b:
                n = block.shape[0]
                row.append(None if n < 2 else
                           float((block.sum() - np.trace(block)) /
                                 (n * (n - 1))))
            else:
                row.append(float(block.mean()))
        matrix.append(row)
    return dict(tasks=names, cosine=matrix)


def routing_diagnostics(routes: ArrayLike,
                        embeddings: Union[np.ndarray, torch.Tensor],
                        tasks: Sequence[str], num_experts: int) -> dict:
    """Everything that says whether routes separate tasks, for one split.

    Args:
        routes (array-like): (N, K) expert indices.
        embeddings (Tensor | ndarray): (N, K, d) routing vectors.
        tasks (Sequence[str]): The task of each image.
        num_experts (int): Experts per layer (C).

    Returns:
        dict: :func:`task_routing` (per task main path and purity,
        ``task_paths``, ``nmi``, ``shared``) plus ``num_images``,
        ``min_purity``, ``layer_balance`` (K,), ``min_layer_balance``,
        ``expert_usage`` (per task, (K, C) shares) and ``cosine``
        (:func:`class_pair_cosines`).
    """
    routes = _as_routes(routes, num_experts)
    summary = task_routing(routes, tasks)
    tasks = [str(t) for t in tasks]
    balance = layer_balance(routes, num_experts)
    summary.update(
        num_images=int(routes.shape[0]),
        min_purity=min(s['purity'] for s in summary['tasks'].values()),
        layer_balance=balance.round(4).tolist(),
        min_layer_balance=float(balance.min()),
        expert_usage={
            task: expert_usage(routes[[t == task for t in tasks]],
                               num_experts).round(4).tolist()
            for task in summary['tasks']
        },
        cosine=class_pair_cosines(embeddings, tasks))
    return summary


@torch.no_grad()
def route_samples(model: torch.nn.Module, batches) -> tuple:
    """Route batches of packed samples with a SLER-IR model.

    Args:
        model (nn.Module): ``SLERRestorer`` (its ``data_preprocessor`` and
            ``route``), in the mode the caller chose.
        batches (Iterable[dict]): Collated batches (``inputs``,
            ``data_samples``), e.g. a test dataloader.

    Returns:
        tuple: ``routes`` (N, K) int64 ndarray, ``embeddings`` (N, K, d)
        float32 ndarray, and ``metainfo``: the list of each sample's
        metainfo dict.
    """
    routes, embeddings, metas = [], [], []
    for batch in batches:
        data = model.data_preprocessor(batch, False)
        routed = model.route(data['inputs'])
        routes.append(routed.indices.cpu())
        embeddings.append(routed.embeddings.float().cpu())
        samples = data['data_samples']
        metas += (samples.split() if hasattr(samples, 'split') else
                  list(samples))
    return (torch.cat(routes).numpy().astype(np.int64),
            torch.cat(embeddings).numpy(), [m.metainfo for m in metas])


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
    ] if sets else []
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
    if shared:
        lines += ['', 'Sets sharing their most common path: ' + '; '.join(
            ', '.join(names) for names in shared)]
    elif sets:
        lines += ['', 'Every set has its own most common path.']

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
        lines += ([''] if lines else []) + [
            'Expert center angles (degrees)', '| centers | min | mean |',
            '|---|---|---|'
        ]
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


def format_task_routing(splits: Mapping[str, dict],
                        names: Optional[Mapping[str, str]] = None) -> str:
    """Train-vs-test route tables, as Markdown.

    Args:
        splits (Mapping[str, dict]): Split name (e.g. 'test', 'train') ->
            :func:`routing_diagnostics`.
        names (Mapping[str, str], optional): Display name of each task
            (e.g. its test set's name).

    Returns:
        str: Per task and split the main path, its purity and the number of
        paths, and whether the splits agree; per split the summary (task
        paths, NMI), the per-layer balance and the task-pair cosines.
    """
    names = dict(names or {})
    split_names = list(splits)
    tasks = list(dict.fromkeys(
        t for d in splits.values() for t in d['tasks']))
    head = ['task'] + [f'{sp}: main path (purity, paths)'
                       for sp in split_names]
    if len(split_names) > 1:
        head.append('same path')
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for task in tasks:
        cells, paths = [names.get(task, task)], []
        for sp in split_names:
            s = splits[sp]['tasks'].get(task)
            if s is None:
                cells.append('-')
                continue
            paths.append(tuple(s['main_path']))
            cells.append(f'{format_path(s["main_path"])} '
                         f'({s["purity"]:.2f}, {s["num_paths"]})')
        if len(split_names) > 1:
            cells.append('-' if len(paths) < len(split_names) else
                         ('yes' if len(set(paths)) == 1 else 'no'))
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines.append('')
    for sp in split_names:
        d = splits[sp]
        shared = '; '.join(', '.join(names.get(t, t) for t in group)
                           for group in d['shared']) or 'none'
        lines.append(
            f'- {sp} ({d["num_images"]} images): {d["task_paths"]} distinct '
            f'main paths for {len(d["tasks"])} tasks, NMI(path, task) '
            f'{d["nmi"]:.3f}, min purity {d["min_purity"]:.2f}, min '
            f'per-layer balance {d["min_layer_balance"]:.2f}; tasks sharing '
            f'a main path: {shared}')
    num_layers = len(next(iter(splits.values()))['layer_balance'])
    lines += ['', 'Per-layer expert balance (normalised entropy of the '
              'expert usage over all images; 0 = one expert takes all)',
              '| split | ' + ' | '.join(f'L{k + 1}' for k in range(
                  num_layers)) + ' |', '|---|' + '---|' * num_layers]
    for sp in split_names:
        lines.append(f'| {sp} | ' + ' | '.join(
            f'{b:.2f}' for b in splits[sp]['layer_balance']) + ' |')
    for sp in split_names:
        cos = splits[sp]['cosine']
        labels = [names.get(t, t) for t in cos['tasks']]
        lines += ['', f'Mean cosine of the routing vectors between tasks '
                  f'({sp}; diagonal: within a task)',
                  '| | ' + ' | '.join(labels) + ' |',
                  '|---|' + '---|' * len(labels)]
        for label, row in zip(labels, cos['cosine']):
            lines.append(f'| {label} | ' + ' | '.join(
                '-' if v is None else f'{v:.2f}' for v in row) + ' |')
    return '\n'.join(lines)


def plot_cosine_matrices(splits: Mapping[str, dict], out_file: str,
                         names: Optional[Mapping[str, str]] = None) -> str:
    """Save the task-pair cosine matrices of the splits side by side."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = dict(names or {})
    fig = Figure(figsize=(4.2 * len(splits) + 0.8, 4.0))
    FigureCanvasAgg(fig)
    for i, (sp, d) in enumerate(splits.items()):
        ax = fig.add_subplot(1, len(splits), i + 1)
        cos = np.array([[np.nan if v is None else v for v in row]
                        for row in d['cosine']['cosine']])
        labels = [names.get(t, t) for t in d['cosine']['tasks']]
        image = ax.imshow(cos, vmin=-1, vmax=1, cmap='coolwarm')
        for (r, c), v in np.ndenumerate(cos):
            if not np.isnan(v):
                ax.text(c, r, f'{v:.2f}', ha='center', va='center',
                        fontsize=7)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=45, ha='right', fontsize=8)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_title(f'{sp}: NMI {d["nmi"]:.2f}, '
                     f'{d["task_paths"]} paths / {len(d["tasks"])} tasks',
                     fontsize=9)
    fig.colorbar(image, ax=fig.axes, fraction=0.03, pad=0.02)
    fig.savefig(out_file, dpi=120)
    return out_file
