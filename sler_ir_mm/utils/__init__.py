from .arg_checks import check_float_range, check_int
from .data_root import set_data_root
from .dist_backend import prepare_cpu_distributed
from .results_table import format_results_table, summarize_metrics

__all__ = [
    'check_float_range', 'check_int', 'format_results_table',
    'prepare_cpu_distributed', 'set_data_root', 'summarize_metrics'
]
