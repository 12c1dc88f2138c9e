"""Do composite degradations take hybrid expert paths?

The paper says a mix of degradations "activates hybrid expert
combinations". Measured as docs/routing.md ("Composite degradations")
defines it: each component of a mix (``task_name.split('+')``) has a
*reference path* on its single-task images, by default the most common
expert of each layer. At one layer an image of the mix *follows* a
component when its expert equals that component's reference expert there,
and follows it *exclusively* when it equals no other component's. An image
is *hybrid* when at least two components are each followed exclusively on
at least ``min_exclusive`` (2) layers; one flipped layer is within route
noise. A mix whose components' reference paths leave too few layers apart
for that (for two components: they differ in fewer than 4 layers) *cannot
show* a hybrid route and is reported apart.

Used by ``tools/analysis_tools/route_stats.py`` and
``RouteDiagnosticsHook``; every function here is pure (arrays in, dicts of
plain numbers out).
"""
import itertools
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from sler_ir_mm.utils import check_int
from .route_stats import (ArrayLike, _as_routes, expert_usage, format_path,
                          path_histogram)

__all__ = [
    'REFERENCES', 'composite_components', 'layer_mode_path',
    'can_show_hybrid', 'mix_follow_stats', 'composite_route_stats',
    'format_composite_routes', 'plot_composite_routes',
    'composite_figure_name'
]

#: How a component's reference path is taken from its single-task routes:
#: the most common expert of each layer (the default), or the most common
#: route.
REFERENCES = ('layer_mode', 'main_path')


def composite_components(task_name: str) -> List[str]:
    """The components of a task: ``'derain+dehaze'`` -> ``['derain',
    'dehaze']``; a single task is its own one component.

    Args:
        task_name (str): Task name, components joined by '+' in the order
            they were applied.

    Raises:
        ValueError: An empty or repeated component.
    """
    if not isinstance(task_name, str) or not task_name:
        raise ValueError(
            f'task_name must be a non-empty str, got {task_name!r}')
    parts = task_name.split('+')
    if any(not p for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(f'task_name {task_name!r} must join distinct, '
                         'non-empty component names with "+"')
    return parts


def layer_mode_path(routes: ArrayLike) -> Tuple[List[int], List[float]]:
    """The most common expert of each layer and its share of the images.

    Ties go to the lower expert index.

    Args:
        routes (array-like): (N, K) expert indices, one row per image.

    Returns:
        tuple: ``path`` (K expert indices) and ``shares`` (K floats).
    """
    routes = _as_routes(routes)
    counts = [np.bincount(layer) for layer in routes.T]
    path = [int(c.argmax()) for c in counts]
    return path, [float(c.max() / routes.shape[0]) for c in counts]


def _paths_array(paths: Mapping[str, Sequence[int]],
                 num_layers: Optional[int] = None) -> np.ndarray:
    if not isinstance(paths, Mapping) or len(paths) < 2:
        raise ValueError('paths must map at least two components to their '
                         f'reference paths, got {paths!r}')
    try:
        table = np.asarray([list(p) for p in paths.values()])
    except (TypeError, ValueError):  # not sequences, or ragged
        table = np.zeros(0)
    if table.ndim != 2 or not np.issubdtype(table.dtype, np.integer) or \
            table.shape[1] == 0 or table.min() < 0 or \
            (num_layers is not None and table.shape[1] != num_layers):
        raise ValueError(
            'paths must be integer expert indices, one per routed layer'
            + ('' if num_layers is None else f' ({num_layers})') +
            f', got {dict(paths)!r}')
    return table.astype(np.int64)


def _own_layers(table: np.ndarray) -> np.ndarray:
    """(M, K) bool: where each component's expert is no other's."""
    same = table[:, None, :] == table[None, :, :]  # (M, M, K)
    return same.sum(1) == 1


def can_show_hybrid(paths: Mapping[str, Sequence[int]],
                    min_exclusive: int = 2) -> bool:
    """Whether any image could be hybrid, given the reference paths.

    True when two components X, Y each have ``min_exclusive`` layers of
    their own (an expert no other component has there) and their own
    layers together number ``2 * min_exclusive`` or more, so that an image
    can follow X alone and Y alone on distinct layers. For two components
    this is: the paths differ in at least ``2 * min_exclusive`` (4) layers.

    Args:
        paths (Mapping[str, Sequence[int]]): Component -> reference path.
        min_exclusive (int): Exclusive layers a component needs. Default: 2.
    """
    check_int('min_exclusive', min_exclusive)
    own = _own_layers(_paths_array(paths))
    for x, y in itertools.combinations(range(len(own)), 2):
        if own[x].sum() >= min_exclusive and own[y].sum() >= min_exclusive \
                and (own[x] | own[y]).sum() >= 2 * min_exclusive:
            return True
    return False


def mix_follow_stats(routes: ArrayLike,
                     paths: Mapping[str, Sequence[int]],
                     min_exclusive: int = 2) -> dict:
    """How the images of a mix follow its components' reference paths.

    Args:
        routes (array-like): (N, K) routes of the mix's images.
        paths (Mapping[str, Sequence[int]]): Component -> reference path
            (K expert indices), at least two components.
        min_exclusive (int): Exclusive layers a component needs for an
            image to count it in a hybrid. Default: 2.

    Returns:
        dict: ``components``, ``paths``, ``num_images``; ``differing_layers``
        (layers where the paths do not all agree), ``own_layers`` (per
        component, layers where its expert is no other's) and ``can_show``
        (:func:`can_show_hybrid`); ``layer_follow``: per layer the share of
        images that follow each component ``only`` (dict of K-lists),
        ``shared`` (more than one: for two components, both, where they
        agree) and ``none``; per image ``exclusive_layers`` (N lists, one
        count per component), per component ``mean_exclusive_layers``,
        ``exclusive_share`` (images with >= ``min_exclusive`` exclusive
        layers) and ``on_path`` (images on exactly its path); ``num_hybrid``,
        ``hybrid_share`` and ``dominant`` (the component with the most
        exclusive layers on average; None on a tie).
    """
    check_int('min_exclusive', min_exclusive)
    routes = _as_routes(routes)
    table = _paths_array(paths, routes.shape[1])
    names = [str(n) for n in paths]
    n = routes.shape[0]
    follows = routes[:, None, :] == table[None]  # (N, M, K)
    num_following = follows.sum(1)  # (N, K)
    exclusive = follows & (num_following == 1)[:, None, :]
    exclusive_layers = exclusive.sum(2)  # (N, M)
    counted = exclusive_layers >= min_exclusive
    hybrid = counted.sum(1) >= 2
    mean_exclusive = exclusive_layers.mean(0)
    best = np.flatnonzero(np.isclose(mean_exclusive, mean_exclusive.max()))
    own = _own_layers(table)
    return dict(
        components=names,
        paths={name: table[m].tolist() for m, name in enumerate(names)},
        num_images=int(n),
        differing_layers=int((table != table[:1]).any(0).sum()),
        own_layers={name: int(own[m].sum()) for m, name in enumerate(names)},
        can_show=can_show_hybrid(paths, min_exclusive),
        min_exclusive=min_exclusive,
        layer_follow=dict(
            only={
                name: exclusive[:, m].mean(0).tolist()
                for m, name in enumerate(names)
            },
            shared=(num_following >= 2).mean(0).tolist(),
            none=(num_following == 0).mean(0).tolist()),
        exclusive_layers=exclusive_layers.tolist(),
        mean_exclusive_layers={
            name: float(mean_exclusive[m]) for m, name in enumerate(names)
        },
        exclusive_share={
            name: float(counted[:, m].mean()) for m, name in enumerate(names)
        },
        on_path={
            name: float(follows[:, m].all(1).mean())
            for m, name in enumerate(names)
        },
        num_hybrid=int(hybrid.sum()),
        hybrid_share=float(hybrid.mean()),
        dominant=names[best[0]] if len(best) == 1 else None)


def composite_route_stats(routes: ArrayLike,
                          tasks: Sequence[str],
                          num_experts: int,
                          min_exclusive: int = 2,
                          reference: str = 'layer_mode') -> dict:
    """Hybrid-path statistics of every composite task among routed images.

    Single tasks (no '+') give the reference paths; their images are pooled
    over every set of that task. A composite with a component that has no
    single-task images is skipped, with the reason.

    Args:
        routes (array-like): (N, K) routes of all images.
        tasks (Sequence[str]): The task name of each image.
        num_experts (int): Experts per layer (C).
        min_exclusive (int): See :func:`mix_follow_stats`. Default: 2.
        reference (str): ``'layer_mode'`` (the most common expert per layer,
            as we read the paper) or ``'main_path'`` (the most common
            route). Default: ``'layer_mode'``.

    Returns:
        dict: ``reference``, ``min_exclusive``; ``references``: per single
        task ``num_images``, ``layer_path`` and ``layer_shares``
        (:func:`layer_mode_path`), ``main_path`` and ``purity``; ``mixes``:
        per composite task (first-seen order) :func:`mix_follow_stats`
        against the chosen references plus ``expert_usage`` ((K, C) shares)
        and, when some component's main path is not its layer path, the
        hybrid share against the other reference (``other_reference``:
        ``reference``, ``can_show``, ``differing_layers``,
        ``hybrid_share``); ``skipped``: composite task -> ``components``,
        ``missing`` and ``reason``.
    """
    if reference not in REFERENCES:
        raise ValueError(f'reference must be one of {REFERENCES}, got '
                         f'{reference!r}')
    check_int('num_experts', num_experts)
    routes = _as_routes(routes, num_experts)
    tasks = [str(t) for t in tasks]
    if len(tasks) != routes.shape[0]:
        raise ValueError(f'got {len(tasks)} tasks for {routes.shape[0]} '
                         'routes')
    groups: Dict[str, np.ndarray] = OrderedDict(
        (task, routes[[t == task for t in tasks]])
        for task in dict.fromkeys(tasks))
    refs = OrderedDict()
    for task, rows in groups.items():
        if '+' in task:
            continue
        path, shares = layer_mode_path(rows)
        (main, count), = path_histogram(rows)[:1]
        refs[task] = dict(num_images=int(rows.shape[0]), layer_path=path,
                          layer_shares=shares, main_path=list(main),
                          purity=count / rows.shape[0])
    other = 'main_path' if reference == 'layer_mode' else 'layer_mode'
    key = dict(layer_mode='layer_path', main_path='main_path')
    mixes, skipped = OrderedDict(), OrderedDict()
    for task, rows in groups.items():
        if '+' not in task:
            continue
        try:
            parts = composite_components(task)
        except ValueError as err:
            skipped[task] = dict(components=task.split('+'), missing=[],
                                 reason=str(err))
            continue
        missing = [p for p in parts if p not in refs]
        if missing:
            skipped[task] = dict(
                components=parts, missing=missing,
                reason='no single-task images of ' + ', '.join(missing) +
                (' (single tasks routed: ' + ', '.join(refs) + ')'
                 if refs else ' (no single task was routed)'))
            continue
        mix = mix_follow_stats(
            rows, {p: refs[p][key[reference]] for p in parts}, min_exclusive)
        mix['expert_usage'] = expert_usage(rows, num_experts).tolist()
        if any(refs[p]['layer_path'] != refs[p]['main_path'] for p in parts):
            alt = mix_follow_stats(
                rows, {p: refs[p][key[other]] for p in parts}, min_exclusive)
            mix['other_reference'] = dict(
                reference=other, paths=alt['paths'],
                can_show=alt['can_show'],
                differing_layers=alt['differing_layers'],
                hybrid_share=alt['hybrid_share'])
        mixes[task] = mix
    return dict(reference=reference, min_exclusive=min_exclusive,
                references=refs, mixes=mixes, skipped=skipped)


def _pct(value: float) -> str:
    return f'{100 * value:.0f}%'


def format_composite_routes(stats: Mapping,
                            names: Optional[Mapping[str, str]] = None) -> str:
    """The hybrid-path report as Markdown.

    Args:
        stats (Mapping): :func:`composite_route_stats` result.
        names (Mapping[str, str], optional): Display name of a task (e.g.
            its test set's name).

    Returns:
        str: The components' reference paths; per mix that can show a
        hybrid route: differing layers, hybrid share, mean exclusive layers
        per component, the dominant component; the mixes that cannot, apart;
        per mix and layer the follow shares; the skipped mixes. Empty when
        there is no composite task.
    """
    names = dict(names or {})
    mixes, skipped = stats['mixes'], stats['skipped']
    if not mixes and not skipped:
        return ''

    def name(task: str) -> str:
        return names.get(task, task)

    ref_word = ('the most common expert of each layer'
                if stats['reference'] == 'layer_mode' else
                'the most common route')
    m = stats['min_exclusive']
    lines = [
        f'Composite degradations: hybrid paths. A component\'s reference '
        f'path is {ref_word} on its single-task images; a layer follows a '
        f'component exclusively when its expert is that component\'s and '
        f'no other\'s; an image is hybrid when at least two components '
        f'each have >= {m} exclusive layers.'
    ]
    used = list(dict.fromkeys(c for mix in mixes.values()
                              for c in mix['components']))
    if used:
        lines += ['', '| component | images | most common expert per layer '
                  '(share of the images, min) | main path (purity) |',
                  '|---|---|---|---|']
        for task in used:
            r = stats['references'][task]
            lines.append(
                f'| {name(task)} | {r["num_images"]} | '
                f'{format_path(r["layer_path"])} '
                f'({min(r["layer_shares"]):.2f}) | '
                f'{format_path(r["main_path"])} ({r["purity"]:.2f}) |')

    def row(task: str, mix: dict, hybrid: bool) -> str:
        comps = mix['components']
        own = '/'.join(str(mix['own_layers'][c]) for c in comps)
        differing = str(mix['differing_layers']) + (
            f' (own {own})' if len(comps) > 2 else '')
        exclusive = ', '.join(
            f'{name(c)} {mix["mean_exclusive_layers"][c]:.1f}' for c in comps)
        cells = [name(task), differing]
        if hybrid:
            cells.append(f'{_pct(mix["hybrid_share"])} ({mix["num_hybrid"]}'
                         f' of {mix["num_images"]})')
            alt = mix.get('other_reference')
            cells.append('same paths' if alt is None else
                         _pct(alt['hybrid_share']) if alt['can_show'] else
                         f'cannot show ({alt["differing_layers"]} differ)')
        cells += [exclusive,
                  '-' if mix['dominant'] is None else name(mix['dominant']),
                  ', '.join(f'{name(c)} {_pct(mix["on_path"][c])}'
                            for c in comps)]
        return '| ' + ' | '.join(cells) + ' |'

    alt_word = ('main paths' if stats['reference'] == 'layer_mode' else
                'per-layer experts')
    showing = [t for t, mix in mixes.items() if mix['can_show']]
    if showing:
        lines += ['', f'| mix | layers differing | hybrid images | hybrid '
                  f'vs {alt_word} | mean exclusive layers | dominant | on a '
                  'component\'s exact path |', '|---|---|---|---|---|---|---|']
        lines += [row(t, mixes[t], True) for t in showing]
    hidden = [t for t, mix in mixes.items() if not mix['can_show']]
    if hidden:
        lines += ['', f'Mixes that cannot show a hybrid route (their '
                  f'components\' reference paths leave fewer than {m} '
                  f'exclusive layers each to two components; for two: they '
                  f'differ in fewer than {2 * m} layers):', '',
                  '| mix | layers differing | mean exclusive layers | '
                  'dominant | on a component\'s exact path |',
                  '|---|---|---|---|---|']
        lines += [row(t, mixes[t], False) for t in hidden]
    for task, mix in mixes.items():
        comps = mix['components']
        k = len(mix['layer_follow']['shared'])
        lines += ['', f'Per-layer follow shares of {name(task)} (% of its '
                  f'{mix["num_images"]} images)',
                  '| follows | ' + ' | '.join(f'L{i + 1}' for i in range(k))
                  + ' |', '|---|' + '---|' * k]
        for c in comps:
            path = mix['paths'][c]
            lines.append(f'| {name(c)} only ({format_path(path)}) | ' +
                         ' | '.join(f'{100 * v:.0f}' for v in
                                    mix['layer_follow']['only'][c]) + ' |')
        for label, key in (('both' if len(comps) == 2 else 'more than one',
                            'shared'),
                           ('neither' if len(comps) == 2 else 'none',
                            'none')):
            lines.append(f'| {label} | ' + ' | '.join(
                f'{100 * v:.0f}' for v in mix['layer_follow'][key]) + ' |')
    for task, s in skipped.items():
        lines += ['', f'- {name(task)}: skipped, {s["reason"]}']
    return '\n'.join(lines)


def composite_figure_name(task: str) -> str:
    """File name of a mix's figure: ``route_composite_<task>.png`` with
    characters other than letters, digits, '+', '-', '_' and '.' as '_'."""
    return 'route_composite_' + re.sub(r'[^A-Za-z0-9+_.-]', '_',
                                       str(task)) + '.png'


_PATH_COLORS = ('#d62728', '#ff7f0e', '#e377c2', '#17becf', '#bcbd22')


def plot_composite_routes(mix: Mapping,
                          out_file: str,
                          title: Optional[str] = None,
                          names: Optional[Mapping[str, str]] = None) -> str:
    """Save a mix's expert usage (experts x layers) with its components'
    reference paths drawn over it.

    Uses Matplotlib's Agg canvas directly (no pyplot).

    Args:
        mix (Mapping): One entry of ``composite_route_stats()['mixes']``.
        out_file (str): Image file to write.
        title (str, optional): Figure title. Default: the components.
        names (Mapping[str, str], optional): Display names of the tasks.

    Returns:
        str: ``out_file``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = dict(names or {})
    usage = np.asarray(mix['expert_usage'], dtype=np.float64).T  # (C, K)
    num_experts, num_layers = usage.shape
    comps = list(mix['components'])
    fig = Figure(figsize=(0.7 * num_layers + 3.2,
                          0.55 * num_experts + 1.9))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(usage, vmin=0, vmax=1, cmap='Greys', aspect='auto')
    # The share at the top of each cell, the paths below it; offsets keep
    # paths that share a cell apart.
    for (expert, layer), value in np.ndenumerate(usage):
        ax.text(layer, expert - 0.42, f'{100 * value:.0f}%', ha='center',
                va='top', fontsize=7,
                color='white' if value > 0.6 else 'black')
    offsets = np.linspace(-0.05, 0.3, len(comps)) if len(comps) > 1 \
        else [0.1]
    for i, (comp, dy) in enumerate(zip(comps, offsets)):
        path = np.asarray(mix['paths'][comp], dtype=np.float64)
        ax.plot(np.arange(num_layers), path + dy,
                color=_PATH_COLORS[i % len(_PATH_COLORS)], linewidth=2,
                marker='o', markersize=4,
                label=f'{names.get(comp, comp)} '
                f'({format_path(mix["paths"][comp])})')
    ax.set_xticks(np.arange(num_layers))
    ax.set_xticklabels([f'L{k + 1}' for k in range(num_layers)])
    ax.set_yticks(np.arange(num_experts))
    ax.set_yticklabels([f'E{c}' for c in range(num_experts)])
    ax.set_xlabel('layer (grey cells: % of the mix\'s images on each '
                  'expert)')
    hybrid = (f'hybrid {_pct(mix["hybrid_share"])}' if mix['can_show'] else
              'cannot show a hybrid route')
    ax.set_title(
        f'{title or "+".join(names.get(c, c) for c in comps)}: {hybrid}, '
        f'{mix["differing_layers"]} layers differ', fontsize=9)
    ax.legend(loc='upper left', bbox_to_anchor=(1.02, 1.0), fontsize=7,
              frameon=False, title='reference paths', title_fontsize=7)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    return out_file
