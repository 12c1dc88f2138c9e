"""Evaluation and reporting: metrics, route statistics, result tables,
parameter counts."""
from .metrics import HarmRate
from .param_count import ParameterCount, count_parameters
from .results_table import (average_rows, format_results_table,
                            group_averages, is_composite, summarize_metrics)

__all__ = [
    'HarmRate', 'ParameterCount', 'count_parameters', 'average_rows',
    'format_results_table', 'group_averages', 'is_composite',
    'summarize_metrics'
]
