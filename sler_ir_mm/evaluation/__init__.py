"""Evaluation and reporting: route statistics, result tables, parameter
counts."""
from .param_count import ParameterCount, count_parameters
from .results_table import format_results_table, summarize_metrics

__all__ = [
    'ParameterCount', 'count_parameters', 'format_results_table',
    'summarize_metrics'
]
