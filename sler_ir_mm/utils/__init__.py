"""Helpers shared by every package that know nothing of the model.

The bottom layer: nothing here imports another subpackage of
``sler_ir_mm``.
"""
from .arg_checks import check_float_range, check_int

__all__ = ['check_float_range', 'check_int']
