"""Per-set PSNR/SSIM tables laid out like the paper's Tables 1-2."""
from collections import OrderedDict
from typing import Dict, Mapping, Sequence

METRICS = ('PSNR', 'SSIM')


def summarize_metrics(metrics: Mapping[str, float],
                      metric_names: Sequence[str] = METRICS) -> dict:
    """Group ``'<set>/<metric>'`` scalars by test set and add their average.

    Args:
        metrics (Mapping[str, float]): What the test loop reports, e.g.
            ``{'Rain100L/PSNR': 38.3, 'Rain100L/SSIM': 0.98, ...}``; keys
            without a set prefix or of other metrics are ignored.
        metric_names (Sequence[str]): Metrics to keep, in column order.

    Returns:
        dict: ``{'sets': {set: {metric: value}}, 'average': {metric:
        value}}``, sets in the order they come; the average is the plain
        mean over the sets that report the metric (the paper's "Average").
    """
    sets: Dict[str, Dict[str, float]] = OrderedDict()
    for key, value in metrics.items():
        prefix, sep, name = key.rpartition('/')
        if sep and name in metric_names:
            sets.setdefault(prefix, {})[name] = float(value)
    average = {}
    for name in metric_names:
        values = [m[name] for m in sets.values() if name in m]
        if values:
            average[name] = sum(values) / len(values)
    return dict(sets=sets, average=average)


def format_results_table(summary: dict,
                         metric_names: Sequence[str] = METRICS) -> str:
    """A Markdown table: one column per test set, then the average.

    Cells read ``PSNR / SSIM`` (2 and 3 decimals, as in the paper).
    """

    def cell(values: Mapping[str, float]) -> str:
        parts = []
        for name in metric_names:
            if name in values:
                digits = 3 if name == 'SSIM' else 2
                parts.append(f'{values[name]:.{digits}f}')
            else:
                parts.append('-')
        return ' / '.join(parts)

    names = list(summary['sets'])
    header = '| ' + ' | '.join(names + ['Average']) + ' |'
    rule = '|' + '---|' * (len(names) + 1)
    row = '| ' + ' | '.join(
        [cell(summary['sets'][n]) for n in names] +
        [cell(summary['average'])]) + ' |'
    caption = f'({" / ".join(metric_names)})'
    return '\n'.join([caption, header, rule, row])
