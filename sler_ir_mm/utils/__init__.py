from .arg_checks import check_float_range, check_int
from .results_table import format_results_table, summarize_metrics

__all__ = [
    'check_float_range', 'check_int', 'format_results_table',
    'summarize_metrics'
]
