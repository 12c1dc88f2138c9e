"""A study's rows over seeds: mean, spread and per-seed values of every
score, route statistic and margin the study reports, and the checks that
answer the composite study's questions (issue 22).

A row's record (``row.json``, written by :class:`StudyRunner`) holds one
seed's results: ``test`` (per-set scores and group averages from
``tools/test.py``'s ``results.json``), ``routes`` (from ``route_stats.json``),
``train`` (from MMEngine's ``scalars.json``), ``params`` and ``wall_s``.
"""
import math
import statistics
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sler_ir_mm.evaluation.results_table import is_composite
from .rows import StudyRow

__all__ = [
    'GOALS', 'stat', 'paired_difference', 'summarize_row', 'summarize_seeds'
]

#: The goals the checks measure against (issue 22): route purity of a
#: single-degradation set, spread of a set's PSNR over seeds (dB), share of
#: hybrid images of a mix that can show a hybrid route.
GOALS = dict(min_purity=0.9, max_psnr_sd=0.5, min_hybrid_share=0.5)

# The per-set metrics a summary keeps (tools/test.py's results.json).
SET_METRICS = ('PSNR', 'SSIM', 'HarmRate', 'WorstLoss', 'InputPSNR', 'N',
               'SkPSNR', 'SkSSIM')


def _finite(values: Sequence[Any]) -> List[float]:
    out = []
    for value in values:
        if value is None or isinstance(value, bool):
            continue
        value = float(value)
        if not math.isnan(value):
            out.append(value)
    return out


def stat(values: Sequence[Any]) -> Optional[Dict[str, Any]]:
    """Mean and spread of per-seed values (None and NaN left out).

    Args:
        values (Sequence): One value per seed.

    Returns:
        dict | None: ``mean``, ``sd`` (sample standard deviation; None for
        one value), ``min``, ``max``, ``n`` and ``values``; None when no
        value is left.
    """
    # Six decimals: far below any spread the study can measure.
    kept = [round(v, 6) for v in _finite(values)]
    if not kept:
        return None
    return dict(
        mean=round(statistics.mean(kept), 6),
        sd=round(statistics.stdev(kept), 6) if len(kept) > 1 else None,
        min=min(kept),
        max=max(kept),
        n=len(kept),
        values=kept)


def paired_difference(a: Mapping[int, Any],
                      b: Mapping[int, Any]) -> Optional[Dict[str, Any]]:
    """:func:`stat` of ``a[seed] - b[seed]`` over the seeds both have.

    Args:
        a (Mapping[int, float]): Seed -> value.
        b (Mapping[int, float]): Seed -> value.
    """
    diffs = [
        float(a[s]) - float(b[s]) for s in sorted(set(a) & set(b))
        if a[s] is not None and b[s] is not None
    ]
    out = stat(diffs)
    if out is not None:
        out['seeds'] = [
            s for s in sorted(set(a) & set(b))
            if a[s] is not None and b[s] is not None
        ]
        out['positive'] = sum(d > 0 for d in diffs)
    return out


def _get(record: Mapping, *keys: str) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def _per_seed(records: Mapping[int, Mapping], *keys: str) -> Dict[int, Any]:
    return {seed: _get(r, *keys) for seed, r in records.items()}


def _names(records: Mapping[int, Mapping], *keys: str) -> List[str]:
    names: List[str] = []
    for record in records.values():
        for name in (_get(record, *keys) or {}):
            if name not in names:
                names.append(name)
    return names


def _route_summary(records: Mapping[int, Mapping]) -> Optional[dict]:
    routes = {s: r['routes'] for s, r in records.items() if r.get('routes')}
    if not routes:
        return None
    seeds = sorted(routes)
    sets = OrderedDict()
    for name in _names(routes, 'sets'):
        sets[name] = dict(
            composite=is_composite(name),
            purity=stat(
                [_get(routes[s], 'sets', name, 'purity') for s in seeds]),
            num_paths=stat(
                [_get(routes[s], 'sets', name, 'num_paths') for s in seeds]),
            main_paths=[
                _get(routes[s], 'sets', name, 'main_path') for s in seeds
            ])
    splits = _names(routes, 'splits')
    out = dict(
        seeds=seeds,
        sets=sets,
        single_task_paths=[routes[s].get('single_task_paths') for s in seeds],
        num_single_sets=[routes[s].get('num_single_sets') for s in seeds],
        min_single_purity=stat([
            min([
                v['purity']
                for n, v in routes[s]['sets'].items() if not is_composite(n)
            ] or [float('nan')]) for s in seeds
        ]),
        task_paths={
            k: [_get(routes[s], 'splits', k, 'task_paths') for s in seeds]
            for k in splits
        },
        num_tasks={
            k: [_get(routes[s], 'splits', k, 'num_tasks') for s in seeds]
            for k in splits
        },
        nmi={
            k: stat([_get(routes[s], 'splits', k, 'nmi') for s in seeds])
            for k in splits
        },
        min_layer_balance={
            k:
            stat([
                _get(routes[s], 'splits', k, 'min_layer_balance')
                for s in seeds
            ])
            for k in splits
        },
        same_path={
            group: [_get(routes[s], 'same_path', group) for s in seeds]
            for group in ('single', 'composite') if any(
                _get(routes[s], 'same_path', group) for s in seeds)
        },
        center_angle_min=stat(
            [routes[s].get('center_angle_min') for s in seeds]))
    mixes = OrderedDict()
    for name in _names(routes, 'composites'):
        per = [_get(routes[s], 'composites', name) or {} for s in seeds]
        first = next(m for m in per if m)
        mixes[name] = dict(
            task=first.get('task'),
            components=first.get('components'),
            num_images=first.get('num_images'),
            can_show=[m.get('can_show') for m in per],
            differing_layers=[m.get('differing_layers') for m in per],
            dominant=[m.get('dominant') for m in per],
            hybrid_share=stat([m.get('hybrid_share') for m in per]),
            hybrid_share_where_shown=stat(
                [m.get('hybrid_share') for m in per if m.get('can_show')]))
    out['composites'] = mixes
    skipped = OrderedDict()
    for s in seeds:
        for name, reason in (routes[s].get('composites_skipped')
                             or {}).items():
            skipped.setdefault(name, reason)
    out['composites_skipped'] = skipped
    return out


def summarize_row(row: StudyRow, records: Mapping[int, Mapping]) -> dict:
    """One row over its seeds.

    Args:
        row (StudyRow): The row.
        records (Mapping[int, Mapping]): Seed -> the row's finished record.

    Returns:
        dict: the row's ``name``, ``label``, ``paper``, ``routed``,
        ``trained``, ``baseline``, ``config``, ``seeds`` and ``budget`` (of
        its first seed, without the seed); ``sets``: per test set
        ``composite`` and a :func:`stat` per metric; ``averages``: per group
        (``single``, ``composite``, ``all``) a :func:`stat` per metric;
        ``routes`` (routed rows); ``train``: wall time and training scalars;
        ``params``; ``commands``: seed -> the row's commands.
    """
    seeds = sorted(records)
    records = {s: records[s] for s in seeds}
    sets = OrderedDict()
    for name in _names(records, 'test', 'sets'):
        values = dict(composite=is_composite(name))
        for metric in SET_METRICS:
            value = stat(
                list(
                    _per_seed(records, 'test', 'sets', name, metric).values()))
            if value is not None:
                values[metric] = value
        sets[name] = values
    averages = OrderedDict()
    for group in _names(records, 'test', 'averages'):
        values = {}
        for metric in SET_METRICS:
            value = stat(
                list(
                    _per_seed(records, 'test', 'averages', group,
                              metric).values()))
            if value is not None:
                values[metric] = value
        averages[group] = values
    budget = dict(_get(records[seeds[0]], 'budget') or {})
    budget.pop('seed', None)
    train = OrderedDict()
    for key, path in (
        ('wall_s', ('wall_s', 'train')),
        ('final_loss', ('train', 'final_loss')),
        ('stage1_hc_zero_share', ('train', 'stage1_hc_zero_share')),
    ):
        value = stat(list(_per_seed(records, *path).values()))
        if value is not None:
            train[key] = value
    router = OrderedDict()
    for key in _names(records, 'train', 'router'):
        value = stat(list(_per_seed(records, 'train', 'router', key).values()))
        if value is not None:
            router[key] = value
    if router:
        train['router'] = router
    out = dict(
        name=row.name,
        label=row.label,
        paper=row.paper,
        routed=row.routed,
        trained=row.trained,
        baseline=row.baseline,
        config=row.config,
        seeds=seeds,
        budget=budget,
        sets=sets,
        averages=averages,
        train=train,
        params=_get(records[seeds[0]], 'params'),
        resumed=[s for s in seeds if records[s].get('resumed')],
        commands={
            str(s): list(records[s].get('commands') or [])
            for s in seeds
        })
    routes = _route_summary(records) if row.routed else None
    if routes is not None:
        out['routes'] = routes
    return out


def _psnr(records: Mapping[int, Mapping], *keys: str) -> Dict[int, Any]:
    return _per_seed(records, 'test', *keys, 'PSNR')


def _margins(records: Mapping[int, Mapping], base: Mapping[int,
                                                           Mapping]) -> dict:
    """Paired PSNR differences of a row against another, per group of
    sets and per set."""
    out = OrderedDict()
    for group in ('single', 'composite'):
        diff = paired_difference(
            _psnr(records, 'averages', group), _psnr(base, 'averages', group))
        if diff is not None:
            out[group] = diff
    sets = OrderedDict()
    for name in _names(records, 'test', 'sets'):
        diff = paired_difference(
            _psnr(records, 'sets', name), _psnr(base, 'sets', name))
        if diff is not None:
            sets[name] = diff
    out['sets'] = sets
    return out


def _mean(value: Optional[Mapping]) -> Optional[float]:
    return None if value is None else value['mean']


def _checks(summary: Mapping, margins: Optional[Mapping]) -> dict:
    """The composite study's questions, for one routed row."""
    sets = summary['sets']
    singles = [n for n, v in sets.items() if not v['composite']]
    out = OrderedDict()
    if margins:
        single = _mean(margins.get('single'))
        composite = _mean(margins.get('composite'))
        out['margin_single'] = single
        out['margin_composite'] = composite
        out['composite_margin_at_least_single'] = (None if single is None
                                                   or composite is None else
                                                   composite >= single)
    out['harmful_single_sets'] = [
        n for n in singles
        if 'HarmRate' in sets[n] and sets[n]['HarmRate']['max'] > 0
    ]
    out['harm_measured'] = any('HarmRate' in sets[n] for n in singles)
    out['wide_single_sets'] = [
        n for n in singles if (sets[n].get('PSNR') or {}).get('sd') is not None
        and sets[n]['PSNR']['sd'] >= GOALS['max_psnr_sd']
    ]
    routes = summary.get('routes')
    if routes:
        out['impure_single_sets'] = [
            n for n in singles
            if n in routes['sets'] and routes['sets'][n]['purity'] is not None
            and routes['sets'][n]['purity']['mean'] < GOALS['min_purity']
        ]
        hybrid = OrderedDict()
        for name, mix in routes['composites'].items():
            shown = sum(bool(c) for c in mix['can_show'])
            share = _mean(mix['hybrid_share_where_shown'])
            margin = _mean(((margins or {}).get('sets') or {}).get(name))
            hybrid[name] = dict(
                can_show=f'{shown} of {len(mix["can_show"])}',
                hybrid_share=share,
                margin=margin,
                met=None if not shown else
                bool(share is not None and share >= GOALS['min_hybrid_share']
                     and margin is not None and margin >= 0))
        out['hybrid'] = hybrid
    return out


def summarize_seeds(rows: Sequence[StudyRow],
                    records: Mapping[str, Mapping[int, Mapping]],
                    info: Optional[Mapping] = None) -> dict:
    """The study summary: every row with finished records, over its seeds.

    Args:
        rows (Sequence[StudyRow]): The study's rows (their order is the
            summary's).
        records (Mapping): Row name -> seed -> finished record.
        info (Mapping, optional): What the summary says about the study
            (``dataset``, ``machine``, ``finished``, ``command``...), kept
            as given.

    Returns:
        dict: ``info`` keys, ``goals`` (:data:`GOALS`), ``seeds`` (every
        seed of any row), ``rows`` (:func:`summarize_row` each, with
        ``margins`` over its baseline and the ``checks`` of routed rows)
        and ``comparisons``: per baseline, the first routed row against
        each other routed row of that baseline (paired PSNR differences).
    """
    summaries = OrderedDict()
    for row in rows:
        if records.get(row.name):
            summaries[row.name] = summarize_row(row, records[row.name])
    for row in rows:
        summary = summaries.get(row.name)
        if summary is None:
            continue
        margins = None
        if row.baseline and row.baseline in summaries:
            margins = _margins(records[row.name], records[row.baseline])
            summary['margins'] = dict(baseline=row.baseline, **margins)
        if row.routed:
            summary['checks'] = _checks(summary, margins)
    comparisons = []
    routed = [r for r in rows if r.routed and r.name in summaries]
    for baseline in dict.fromkeys(r.baseline for r in routed):
        group = [r for r in routed if r.baseline == baseline]
        for other in group[1:]:
            margins = _margins(records[group[0].name], records[other.name])
            comparisons.append(
                dict(row=group[0].name, other=other.name, **margins))
    seeds = sorted({s for r in summaries.values() for s in r['seeds']})
    return dict(
        dict(info or {}),
        goals=dict(GOALS),
        seeds=seeds,
        rows=list(summaries.values()),
        comparisons=comparisons)
