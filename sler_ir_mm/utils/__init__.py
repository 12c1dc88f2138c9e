"""Helpers shared by every package that know nothing of the model.

Argument checks live here. Dataset checks, checkpoint checks and route
statistics moved to :mod:`sler_ir_mm.datasets`, :mod:`sler_ir_mm.engine`
and :mod:`sler_ir_mm.evaluation`; their old names here still import, with a
``DeprecationWarning``, for one release.
"""
import importlib

from ._deprecation import warn_moved
from .arg_checks import check_float_range, check_int

# Old name -> module that now owns it.
_MOVED = {
    'CheckpointMismatchError': 'sler_ir_mm.engine.checkpoint_check',
    'UnreadableCheckpointError': 'sler_ir_mm.engine.checkpoint_check',
    'check_checkpoint_matches': 'sler_ir_mm.engine.checkpoint_check',
    'checkpoint_to_load': 'sler_ir_mm.engine.checkpoint_check',
    'resume_hint': 'sler_ir_mm.engine.checkpoint_check',
    'set_data_root': 'sler_ir_mm.datasets.data_root',
    'prepare_cpu_distributed': 'sler_ir_mm.engine.dist_backend',
    'ParameterCount': 'sler_ir_mm.evaluation.param_count',
    'count_parameters': 'sler_ir_mm.evaluation.param_count',
    'format_results_table': 'sler_ir_mm.evaluation.results_table',
    'summarize_metrics': 'sler_ir_mm.evaluation.results_table',
}


def __getattr__(name: str):
    if name in _MOVED:
        owner = _MOVED[name]
        warn_moved(f'sler_ir_mm.utils.{name}', f'{owner}.{name}')
        return getattr(importlib.import_module(owner), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__all__ = ['check_float_range', 'check_int']
