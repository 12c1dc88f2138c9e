"""A row's routes, from the ``route_stats.json`` that
``tools/analysis_tools/route_stats.py`` writes."""
import json
from typing import Dict, List, Mapping

from sler_ir_mm.evaluation.results_table import is_composite
from .errors import StudyError

__all__ = ['condense_route_stats', 'read_route_stats']

# What the study keeps of each mix of route_stats.json's 'composites'
# (sler_ir_mm.evaluation.composite_routes.mix_follow_stats).
MIX_KEYS = ('components', 'paths', 'num_images', 'differing_layers',
            'can_show', 'num_hybrid', 'hybrid_share', 'dominant',
            'mean_exclusive_layers', 'on_path')


def _same_paths(test: Mapping, train: Mapping) -> Dict[str, List[int]]:
    """``[same, compared]`` of the tasks both splits route, singles and
    composites apart: how many take the same main path on both."""
    out: Dict[str, List[int]] = {}
    for task, values in test.items():
        if task not in train:
            continue
        group = 'composite' if is_composite(task) else 'single'
        count = out.setdefault(group, [0, 0])
        count[0] += int(values['main_path'] == train[task]['main_path'])
        count[1] += 1
    return out


def condense_route_stats(stats: Mapping) -> dict:
    """What the study keeps of a ``route_stats.json``.

    Args:
        stats (Mapping): The file's content: ``sets`` (per test set),
            ``splits`` (``test`` / ``train``: per task main path and purity,
            ``task_paths``, ``nmi``, ...), ``task_names`` (task -> set
            name), ``center_angles`` and ``composites``.

    Returns:
        dict: ``sets``: per test set ``purity``, ``main_path``,
        ``num_paths``, ``num_images``; ``single_task_paths`` (distinct main
        paths of the single-degradation sets) of ``num_single_sets``;
        ``center_angle_min``; ``splits``: per split ``task_paths``, ``nmi``,
        ``min_purity``, ``min_layer_balance``, ``num_tasks`` and per task
        ``main_paths`` and ``purity``; ``same_path``: ``'single'`` /
        ``'composite'`` -> ``[tasks on the same main path on training
        patches and test images, tasks compared]``; ``composites``: per mix
        (by its set name) its hybrid-path statistics and ``task``;
        ``composites_skipped``: mix -> reason.

    Raises:
        StudyError: No ``sets``.
    """
    if not isinstance(stats, Mapping) or not stats.get('sets'):
        raise StudyError('route_stats.json has no test sets ("sets")')
    sets = {
        name:
        dict(
            purity=s['purity'],
            main_path=list(s['top_paths'][0]['path']),
            num_paths=s['num_paths'],
            num_images=s['num_images'])
        for name, s in stats['sets'].items()
    }
    singles = [s['main_path'] for n, s in sets.items() if not is_composite(n)]
    angles = stats.get('center_angles') or {}
    splits = {
        name:
        dict(
            task_paths=d['task_paths'],
            nmi=d['nmi'],
            min_purity=d['min_purity'],
            min_layer_balance=d.get('min_layer_balance'),
            num_tasks=len(d['tasks']),
            main_paths={
                t: v['main_path']
                for t, v in d['tasks'].items()
            },
            purity={
                t: v['purity']
                for t, v in d['tasks'].items()
            })
        for name, d in (stats.get('splits') or {}).items()
    }
    out = dict(
        sets=sets,
        single_task_paths=len({tuple(p)
                               for p in singles}),
        num_single_sets=len(singles),
        center_angle_min=angles.get('min'),
        splits=splits)
    raw = stats.get('splits') or {}
    if 'test' in raw and 'train' in raw:
        out['same_path'] = _same_paths(raw['test']['tasks'],
                                       raw['train']['tasks'])
    names = stats.get('task_names') or {}
    composites = stats.get('composites') or {}
    out['composites'] = {
        names.get(task, task):
        dict({k: mix[k]
              for k in MIX_KEYS if k in mix}, task=task)
        for task, mix in (composites.get('mixes') or {}).items()
    }
    out['composites_skipped'] = {
        names.get(task, task): s.get('reason', '')
        for task, s in (composites.get('skipped') or {}).items()
    }
    return out


def read_route_stats(path: str) -> dict:
    """:func:`condense_route_stats` of the file at ``path``.

    Args:
        path (str): A ``route_stats.json``.

    Raises:
        StudyError: The file is missing or unreadable.
    """
    try:
        with open(path, encoding='utf-8') as f:
            stats = json.load(f)
    except (OSError, ValueError) as err:
        raise StudyError(f'cannot read {path}: {err}') from None
    try:
        return condense_route_stats(stats)
    except (StudyError, KeyError, IndexError, TypeError) as err:
        raise StudyError(f'{path}: not a route_stats.json of '
                         f'tools/analysis_tools/route_stats.py ({err!r})')
