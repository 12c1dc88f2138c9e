"""The study summary (:func:`~sler_ir_mm.study.seed_summary.summarize_seeds`)
as Markdown: scores, per-set tables, routes, hybrid paths of the mixes,
and the checks of the composite study's goals."""
from typing import Any, List, Mapping, Optional, Sequence

__all__ = [
    'format_stat', 'format_summary_markdown', 'markdown_table',
    'per_set_table', 'routes_table', 'scores_table'
]


def format_stat(value: Optional[Mapping],
                digits: int = 2,
                scale: float = 1.0,
                suffix: str = '',
                signed: bool = False) -> str:
    """``mean ± sd`` (``mean`` for one seed; ``-`` for None).

    Args:
        value (Mapping, optional): A :func:`~.seed_summary.stat`.
        digits (int): Decimals. Default: 2.
        scale (float): Factor applied first (100 for percentages).
        suffix (str): Appended (e.g. ``'%'``).
        signed (bool): Print the mean's sign. Default: False.
    """
    if not value:
        return '-'
    sign = '+' if signed else ''
    text = f'{value["mean"] * scale:{sign}.{digits}f}'
    if value.get('sd') is not None:
        text += f' ± {value["sd"] * scale:.{digits}f}'
    return text + suffix


def markdown_table(header: Sequence[str],
                   rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table.

    Args:
        header (Sequence[str]): Column names.
        rows (Sequence[Sequence[str]]): Cells, one list per row.
    """
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def _minutes(value: Optional[Mapping]) -> str:
    if not value:
        return '-'
    seconds = int(round(value['mean']))
    return f'{seconds // 60}m{seconds % 60:02d}s'


def _millions(params: Optional[Mapping]) -> str:
    if not params or params.get('total') is None:
        return '-'
    return (f'{params["total"] / 1e6:.2f}M / '
            f'{params.get("active", params["total"]) / 1e6:.2f}M')


def _path(path: Optional[Sequence[int]]) -> str:
    return '-' if not path else '-'.join(str(int(e)) for e in path)


def _per_seed(values: Sequence[Any]) -> str:
    return ', '.join('-' if v is None else str(v) for v in values) or '-'


def _fraction(pair: Optional[Sequence[int]]) -> str:
    return '-' if not pair else f'{pair[0]}/{pair[1]}'


def _sets(rows: Sequence[Mapping]) -> List[str]:
    names: List[str] = []
    for row in rows:
        names += [n for n in row['sets'] if n not in names]
    # Single degradations first, then the mixes, each in first-seen order.
    return ([n
             for n in names if '+' not in n] + [n for n in names if '+' in n])


def _group(row: Mapping, group: str, metric: str) -> Optional[Mapping]:
    return (row.get('averages', {}).get(group) or {}).get(metric)


def scores_table(rows: Sequence[Mapping]) -> str:
    """Per row: seeds, parameters, PSNR / SSIM averages of the single sets
    and of the mixes, margins over the baseline, harm rates, wall time."""
    composites = any('composite' in r.get('averages', {}) for r in rows)
    harm = any(
        _group(r, g, 'HarmRate') for r in rows
        for g in ('single', 'composite'))
    margins = any(r.get('margins') for r in rows)
    groups = ['single'] + (['composite'] if composites else [])
    words = dict(single='singles', composite='composites')
    header = ['Model', 'Seeds', 'Params total / per image']
    header += [f'PSNR {words[g]}' for g in groups]
    header += [f'SSIM {words[g]}' for g in groups]
    if margins:
        header += [f'vs baseline, {words[g]} (dB)' for g in groups]
    if harm:
        header += [f'Harm rate {words[g]}' for g in groups]
        header += ['Worst loss (dB)']
    header += ['Train wall']
    lines = []
    for row in rows:
        cells = [
            row['label'], ', '.join(map(str, row['seeds'])),
            _millions(row.get('params'))
        ]
        cells += [format_stat(_group(row, g, 'PSNR')) for g in groups]
        cells += [format_stat(_group(row, g, 'SSIM'), 3) for g in groups]
        if margins:
            m = row.get('margins') or {}
            cells += [format_stat(m.get(g), signed=True) for g in groups]
        if harm:
            cells += [
                format_stat(_group(row, g, 'HarmRate'), 1, 100, '%')
                for g in groups
            ]
            worst = _group(row, 'all', 'WorstLoss')
            cells.append('-' if not worst else f'{worst["max"]:+.2f}')
        cells.append(
            _minutes(row.get('train', {}).get('wall_s')) if row.get('trained'
                                                                    ) else '-')
        lines.append(cells)
    return markdown_table(header, lines)


def per_set_table(rows: Sequence[Mapping], metric: str, digits: int) -> str:
    """Per row one ``metric`` cell per test set (singles, then mixes)."""
    sets = _sets(rows)
    lines = []
    for row in rows:
        lines.append([row['label']] + [
            format_stat(row['sets'].get(s, {}).get(metric), digits)
            for s in sets
        ])
    return markdown_table(['Model'] + sets, lines)


def _harm(rows: Sequence[Mapping]) -> str:
    sets = _sets(rows)
    lines = []
    for row in rows:
        cells = [row['label']]
        for s in sets:
            values = row['sets'].get(s, {})
            rate, worst = values.get('HarmRate'), values.get('WorstLoss')
            cells.append(
                '-' if not rate else f'{100 * rate["mean"]:.0f}% (max '
                f'{100 * rate["max"]:.0f}%) / ' +
                ('-' if not worst else f'{worst["max"]:+.2f}'))
        lines.append(cells)
    return markdown_table(['Model'] + sets, lines)


def routes_table(rows: Sequence[Mapping]) -> str:
    """Per routed row: task paths, NMI, purity, same path on train and
    test, center angle."""
    routed = [r for r in rows if r.get('routes')]
    sets = [s for s in _sets(routed) if '+' not in s]
    header = [
        'Model', 'Task paths, singles (per seed)', 'NMI test', 'NMI train',
        'Min purity, singles'
    ] + [f'{s} purity' for s in sets
         ] + ['Same path train/test (per seed)', 'Min center angle']
    lines = []
    for row in routed:
        r = row['routes']
        paths = [
            f'{p}/{n}' if p is not None else '-'
            for p, n in zip(r['single_task_paths'], r['num_single_sets'])
        ]
        same = r.get('same_path', {}).get('single') or []
        lines.append([
            row['label'], ', '.join(paths),
            format_stat(r['nmi'].get('test')),
            format_stat(r['nmi'].get('train')),
            format_stat(r['min_single_purity'])
        ] + [
            format_stat((r['sets'].get(s) or {}).get('purity')) for s in sets
        ] + [
            ', '.join(_fraction(p) for p in same) or '-',
            format_stat(r.get('center_angle_min'), 1)
        ])
    return markdown_table(header, lines)


def _main_paths(rows: Sequence[Mapping]) -> str:
    lines = []
    for row in rows:
        if not row.get('routes'):
            continue
        r = row['routes']
        for name, s in r['sets'].items():
            lines.append([
                row['label'], name,
                ', '.join(_path(p) for p in s['main_paths']),
                format_stat(s['purity']),
                format_stat(s['num_paths'], 1)
            ])
    return markdown_table(
        ['Model', 'Set', 'Main path (per seed)', 'Purity', 'Distinct paths'],
        lines)


def _mixes(rows: Sequence[Mapping]) -> str:
    lines = []
    for row in rows:
        routes = row.get('routes') or {}
        margins = (row.get('margins') or {}).get('sets') or {}
        for name, mix in (routes.get('composites') or {}).items():
            shown = sum(bool(c) for c in mix['can_show'])
            lines.append([
                row['label'], name, f'{shown} of {len(mix["can_show"])}',
                _per_seed(mix['differing_layers']),
                format_stat(mix['hybrid_share']),
                _per_seed(mix['dominant']),
                format_stat(margins.get(name), signed=True)
            ])
    if not lines:
        return ''
    return markdown_table([
        'Model', 'Mix', 'Can show a hybrid route (seeds)',
        'Layers differing (per seed)', 'Hybrid share',
        'Dominant component (per seed)', 'PSNR vs baseline (dB)'
    ], lines)


def _comparisons(summary: Mapping, labels: Mapping[str, str]) -> str:
    lines = []
    for c in summary.get('comparisons') or []:
        cells = [f'{labels[c["row"]]} - {labels[c["other"]]}']
        for group in ('single', 'composite'):
            d = c.get(group)
            cells.append('-' if not d else f'{format_stat(d, signed=True)} '
                         f'({d["positive"]} of {d["n"]} seeds above)')
        lines.append(cells)
    if not lines:
        return ''
    return markdown_table(
        ['Rows', 'PSNR singles (dB)', 'PSNR composites (dB)'], lines)


def _yes(value: Optional[bool]) -> str:
    return '-' if value is None else ('yes' if value else 'no')


def _checks(rows: Sequence[Mapping], goals: Mapping) -> str:
    lines = []
    for row in rows:
        c = row.get('checks')
        if not c:
            continue
        hybrid = c.get('hybrid') or {}
        judged = [m for m in hybrid.values() if m['met'] is not None]
        lines.append([
            row['label'], '-' if c.get('margin_single') is None else
            f'{c["margin_single"]:+.2f}', '-' if c.get('margin_composite')
            is None else f'{c["margin_composite"]:+.2f}',
            _yes(c.get('composite_margin_at_least_single')),
            (', '.join(c['harmful_single_sets']) or 'none')
            if c.get('harm_measured') else '-',
            ', '.join(c['wide_single_sets']) or 'none',
            ', '.join(c.get('impure_single_sets') or []) or 'none', '-' if
            not judged else f'{sum(m["met"] for m in judged)} of {len(judged)}'
        ])
    if not lines:
        return ''
    return markdown_table([
        'Model', 'Margin singles (dB)', 'Margin composites (dB)',
        'Composites >= singles', 'Single sets harmed (any seed)',
        f'Single sets with PSNR sd >= {goals["max_psnr_sd"]} dB',
        f'Single sets with purity < {goals["min_purity"]}',
        'Mixes meeting the hybrid goal'
    ], lines)


def format_summary_markdown(summary: Mapping,
                            title: Optional[str] = None) -> str:
    """The study summary as a Markdown page.

    Args:
        summary (Mapping): :func:`~.seed_summary.summarize_seeds`.
        title (str, optional): The page's title. Default: the summary's
            ``title``, else 'Equal-budget study'.

    Returns:
        str: Header (dataset, budget, machine, command), the scores table,
        per-set PSNR / SSIM (and harm rate) tables, the routes, the mixes'
        hybrid paths, the routed rows compared, the checks and each row's
        commands; sections without data are left out.
    """
    rows = summary['rows']
    labels = {r['name']: r['label'] for r in rows}
    goals = summary.get('goals') or {}
    title = title or summary.get('title') or 'Equal-budget study'
    spread = (': mean ± standard deviation over seeds'
              if len(summary.get('seeds') or []) > 1 else '')
    parts = [f'# {title}{spread}', '']
    if summary.get('dataset'):
        parts.append(f'Data: {summary["dataset"]}.')
    budgets = {}
    for row in rows:
        b = row.get('budget') or {}
        if row.get('trained') and b:
            key = (f'stage 1 {b.get("stage1_epochs")} epochs at batch '
                   f'{b.get("stage1_batch_size")}, stage 2 '
                   f'{b.get("stage2_epochs")} epochs at batch '
                   f'{b.get("stage2_batch_size")}')
            budgets.setdefault(key, []).append(row['label'])
    for key, names in budgets.items():
        parts.append(f'Budget: {key} ({", ".join(names)}).')
    for key, label in (('machine', 'Machine'), ('finished', 'Finished'),
                       ('work_dir', 'Runs'), ('note', 'Note')):
        if summary.get(key):
            parts.append(f'{label}: {summary[key]}.')
    if summary.get('commands'):
        parts += ['', 'Written by:', '', '```bash'] + list(
            summary['commands']) + ['```']
    parts += [
        '', '## Scores', '',
        'PSNR (dB) / SSIM on RGB, averaged over the single-degradation sets '
        '("singles") and over the mixes ("composites", set names with '
        '"+"); "vs baseline": the paired per-seed difference from the '
        'row\'s baseline (the same backbone without routing, trained the '
        'same way); harm rate: share of images whose output PSNR is below '
        'their input\'s; worst loss: the largest input-minus-output PSNR of '
        'an image over all sets and seeds; params: total / one expert per '
        'routed layer.', '',
        scores_table(rows), '', '## PSNR per set (dB)', '',
        per_set_table(rows, 'PSNR', 2), '', '## SSIM per set', '',
        per_set_table(rows, 'SSIM', 3)
    ]
    if any(v.get('HarmRate') for r in rows for v in r['sets'].values()):
        parts += [
            '', '## Harm rate per set', '',
            'Mean harm rate over seeds (highest seed) / worst loss '
            '(dB, over seeds).', '',
            _harm(rows)
        ]
    if any(r.get('routes') for r in rows):
        parts += [
            '', '## Routes', '',
            'Task paths: distinct main paths (most common route) of the '
            'single-degradation sets, per seed; NMI of route and task on '
            'the test images and on a probe of training patches; purity: '
            'share of a set on its main path; same path: single tasks '
            'whose training patches and test images take the same main '
            'path.', '',
            routes_table(rows), '', '### Main paths', '',
            _main_paths(rows)
        ]
    mixes = _mixes(rows)
    if mixes:
        parts += [
            '', '## Hybrid paths of the mixes', '',
            'A mix can show a hybrid route when its components\' reference '
            'paths (most common expert per layer on their single sets) '
            'leave each of two components at least 2 layers of its own; an '
            'image is hybrid when it follows each of two components alone '
            'on at least 2 layers (sler_ir_mm/evaluation/composite_routes'
            '.py). PSNR vs baseline: the mix\'s paired margin over the '
            'baseline row.', '', mixes
        ]
    compared = _comparisons(summary, labels)
    if compared:
        parts += [
            '', '## Routed rows compared', '',
            'Paired per-seed PSNR differences of the averages.', '', compared
        ]
    checks = _checks(rows, goals)
    if checks:
        parts += [
            '', '## Checks', '',
            f'Goals: margins over the baseline at least as large on '
            f'composites as on singles; no single set harmed; PSNR sd below '
            f'{goals.get("max_psnr_sd")} dB; purity at least '
            f'{goals.get("min_purity")}; a mix that can show a hybrid route '
            f'has at least {goals.get("min_hybrid_share")} of its images '
            'hybrid (mean over the seeds where it can) and is restored at '
            'least as well as by the baseline.', '', checks
        ]
    commands = [(r['label'],
                 next(iter(r.get('commands', {}).items()), (None, [])))
                for r in rows]
    if any(cmds for _, (_, cmds) in commands):
        parts += [
            '', '## Commands', '',
            'What the study ran for each row (first seed shown; the '
            'others differ in the seed and the work dir):', '', '```bash'
        ]
        for _, (_, cmds) in commands:
            parts += list(cmds)
        parts.append('```')
    return '\n'.join(parts) + '\n'
