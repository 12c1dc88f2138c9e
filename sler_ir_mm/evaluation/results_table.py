"""Per-set results tables: one row per test set, then the averages.

A set whose name contains '+' is a composite (e.g. 'Rain+Haze'); the others
are single degradations, whose mean is the paper's "Average".
"""
import math
from collections import OrderedDict
from typing import Dict, List, Mapping, Sequence, Tuple

# The per-set scalars a table keeps: image count and PSNR standard error
# and the harm statistics (HarmRate), MMagic's PSNR / SSIM, and scikit-image's
# PSNR / SSIM on 8-bit outputs (SkimagePSNRSSIM).
METRICS = ('N', 'PSNR', 'PSNR_SE', 'SSIM', 'InputPSNR', 'HarmRate',
           'WorstLoss', 'SkPSNR', 'SkSSIM')

GROUPS = ('single', 'composite', 'all')
GROUP_LABELS = {
    'single': 'Average (single degradations)',
    'composite': 'Average (composites)',
    'all': 'Average (all sets)',
}

Sets = Mapping[str, Mapping[str, float]]


def is_composite(set_name: str) -> bool:
    """Whether a test set holds a mix of degradations ('Rain+Haze')."""
    return '+' in set_name


def average_sets(sets: Sets) -> Dict[str, float]:
    """One average row over ``sets``.

    Scores (PSNR, SSIM, input PSNR, scikit-image's) are plain means over the
    sets that report them, as the paper averages; ``N`` is the total,
    ``HarmRate`` the share over all images (weighted by ``N`` when every set
    gives it), ``WorstLoss`` the worst set's, and ``PSNR_SE`` the standard
    error of the mean PSNR (sqrt of the summed squared SEs / number of sets),
    given only when every set with a PSNR has one.

    Args:
        sets (Mapping[str, Mapping[str, float]]): Set name -> metric ->
            value, as in a summary's ``'sets'``.

    Returns:
        Dict[str, float]: Metric -> value, for the metrics some set reports.
    """
    names: List[str] = []
    for values in sets.values():
        names += [n for n in values if n not in names]
    average: Dict[str, float] = {}
    for name in names:
        reporting = [v for v in sets.values() if name in v]
        values = [v[name] for v in reporting]
        if name == 'N':
            average[name] = float(sum(values))
        elif name == 'WorstLoss':
            average[name] = max(values)
        elif name == 'PSNR_SE':
            with_psnr = [v for v in sets.values() if 'PSNR' in v]
            if with_psnr and all('PSNR_SE' in v for v in with_psnr):
                average[name] = math.sqrt(sum(
                    v['PSNR_SE']**2 for v in with_psnr)) / len(with_psnr)
        elif name == 'HarmRate' and all('N' in v for v in reporting):
            total = sum(v['N'] for v in reporting)
            average[name] = (sum(v['HarmRate'] * v['N'] for v in reporting) /
                             total if total else float('nan'))
        else:
            average[name] = sum(values) / len(values)
    return average


def group_averages(sets: Sets) -> 'OrderedDict[str, Dict[str, float]]':
    """Average rows per group of sets: ``'single'`` (single degradations,
    the paper's "Average"), ``'composite'`` (names with '+') and ``'all'``
    (e.g. CDD-11's 11-type mean); a group without sets is left out.

    Args:
        sets (Mapping[str, Mapping[str, float]]): Set name -> metric ->
            value, as in a summary's ``'sets'``.

    Returns:
        OrderedDict[str, Dict[str, float]]: Group -> :func:`average_sets`.
    """
    members = dict(
        single=[n for n in sets if not is_composite(n)],
        composite=[n for n in sets if is_composite(n)],
        all=list(sets))
    return OrderedDict(
        (group, average_sets({n: sets[n]
                              for n in members[group]}))
        for group in GROUPS if members[group])


def summarize_metrics(metrics: Mapping[str, float],
                      metric_names: Sequence[str] = METRICS) -> dict:
    """Group ``'<set>/<metric>'`` scalars by test set and average them.

    Args:
        metrics (Mapping[str, float]): What the test loop reports, e.g.
            ``{'Rain100L/PSNR': 38.3, 'Rain100L/HarmRate': 0.0, ...}``; keys
            without a set prefix, of other metrics, or NaN are left out.
        metric_names (Sequence[str]): Metrics to keep.

    Returns:
        dict: ``'sets'`` (set -> metric -> value, in the order they come),
        ``'averages'`` (:func:`group_averages`) and ``'average'``: the
        single-degradation average (the paper's "Average"), or the average
        over all sets when there is no single-degradation set.
    """
    sets: Dict[str, Dict[str, float]] = OrderedDict()
    for key, value in metrics.items():
        prefix, sep, name = key.rpartition('/')
        if sep and name in metric_names and not math.isnan(float(value)):
            sets.setdefault(prefix, {})[name] = float(value)
    averages = group_averages(sets)
    average = averages.get('single', averages.get('all', {}))
    return dict(sets=sets, averages=averages, average=average)


def _fixed(values: Mapping[str, float], name: str, digits: int) -> str:
    value = values.get(name)
    return '-' if value is None else f'{value:.{digits}f}'


def _row(label: str, values: Mapping[str, float], scikit: bool) -> str:
    psnr = _fixed(values, 'PSNR', 2)
    if 'PSNR' in values and 'PSNR_SE' in values:
        psnr += f' ± {values["PSNR_SE"]:.2f}'
    images = '-' if 'N' not in values else str(int(values['N']))
    harm = ('-' if 'HarmRate' not in values else
            f'{100 * values["HarmRate"]:.1f}%')
    worst = ('-' if 'WorstLoss' not in values else
             f'{values["WorstLoss"]:+.2f}')
    cells = [
        label, images, psnr,
        _fixed(values, 'SSIM', 3),
        _fixed(values, 'InputPSNR', 2), harm, worst
    ]
    if scikit:
        cells.append(f'{_fixed(values, "SkPSNR", 2)} / '
                     f'{_fixed(values, "SkSSIM", 3)}')
    return '| ' + ' | '.join(cells) + ' |'


def average_rows(summary: Mapping) -> List[Tuple[str, Dict[str, float]]]:
    """The labelled average rows a table prints: one 'Average' when the
    sets are all single degradations (or all composites), else the
    single-degradation, composite and all-set averages.

    Args:
        summary (Mapping): What :func:`summarize_metrics` returns (a summary
            without ``'averages'``, as older results.json files hold, is
            averaged from its sets).
    """
    averages = summary.get('averages') or group_averages(summary['sets'])
    if not ('single' in averages and 'composite' in averages):
        return [('Average', averages['all'])] if 'all' in averages else []
    return [(GROUP_LABELS[g], averages[g]) for g in GROUPS]


def format_results_table(summary: Mapping) -> str:
    """A Markdown table, one row per test set and then the average rows,
    under a note that says what each column is.

    Args:
        summary (Mapping): What :func:`summarize_metrics` returns.

    Returns:
        str: The note, a blank line and the table; '-' marks a metric the
        run did not report.
    """
    sets = summary['sets']
    scikit = any('SkPSNR' in v or 'SkSSIM' in v for v in sets.values())
    note = [
        "PSNR ± SE and SSIM: MMagic's PSNR and SSIM metrics on the float "
        'outputs (SE: standard error of the mean PSNR over the images). '
        'Input PSNR: the degraded input against the ground truth. Harm rate: '
        'share of images whose output PSNR is below their input\'s; worst '
        'loss: the largest input-minus-output PSNR of an image (negative: '
        'every image improved).'
    ]
    if scikit:
        note.append('PSNR / SSIM (scikit-image, 8-bit): scikit-image\'s '
                    'metrics on the outputs saved as 8-bit RGB, as '
                    'OneRestore scores CDD-11.')
    note.append('Average rows: means over the sets; images: the total; harm '
                'rate: over all their images; worst loss: the worst set\'s.')
    rows = average_rows(summary)
    if len(rows) > 1:
        note.append('A set is a composite when its name contains \'+\'.')
    header = ['Set', 'Images', 'PSNR ± SE', 'SSIM', 'Input PSNR',
              'Harm rate', 'Worst loss (dB)']
    if scikit:
        header.append('PSNR / SSIM (scikit-image, 8-bit)')
    lines = [' '.join(note), '',
             '| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    lines += [_row(name, values, scikit) for name, values in sets.items()]
    lines += [_row(label, values, scikit) for label, values in rows]
    return '\n'.join(lines)
