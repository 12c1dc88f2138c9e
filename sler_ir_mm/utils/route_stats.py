"""Deprecated import path: use :mod:`sler_ir_mm.evaluation.route_stats`.

Kept importable for one release (0.x -> next); the module object is the
new one, so patches and ``isinstance`` checks see the same names.
"""
from sler_ir_mm.utils._deprecation import alias_module

alias_module(__name__, 'sler_ir_mm.evaluation.route_stats')
