from .arg_checks import check_float_range, check_int
from .checkpoint_check import (CheckpointMismatchError,
                               UnreadableCheckpointError,
                               check_checkpoint_matches, checkpoint_to_load,
                               resume_hint)
from .data_root import set_data_root
from .dist_backend import prepare_cpu_distributed
from .param_count import ParameterCount, count_parameters
from .results_table import format_results_table, summarize_metrics

__all__ = [
    'CheckpointMismatchError', 'UnreadableCheckpointError',
    'check_checkpoint_matches', 'resume_hint',
    'check_float_range', 'check_int', 'checkpoint_to_load',
    'ParameterCount', 'count_parameters',
    'format_results_table',
    'prepare_cpu_distributed', 'set_data_root', 'summarize_metrics'
]
