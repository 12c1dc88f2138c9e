"""Runtime fixes for MMagic 1.2.0 / MMEngine 0.10.7 on numpy 2 and torch>=2.6.

This is the only module of the package that touches third-party code. It is
imported first by ``sler_ir_mm/__init__.py`` so that the fixes are in place
before anything imports ``mmagic``. Each fix is idempotent and does nothing
on a stack that does not need it.

1. ``np.bool8`` was removed in numpy 2, and ``mmagic/utils/trans_utils.py``
   still uses it: alias it to ``np.bool_``.
2. torch>=2.6 makes ``torch.load`` default to ``weights_only=True``, while
   MMEngine 0.10.7 calls it without that argument, so resuming fails with
   ``Unsupported global: ... HistoryBuffer``. Rather than turning safe loading
   off, we allow-list the few classes an MMEngine checkpoint holds (its message
   hub's ``HistoryBuffer`` and the numpy scalars/arrays inside it).
"""
import numpy as np
import torch

__all__ = ['apply_runtime_fixes', 'MMENGINE_CHECKPOINT_SAFE_GLOBALS']


def _numpy_bool8_alias() -> None:
    if not hasattr(np, 'bool8'):
        np.bool8 = np.bool_


def _numpy_pickle_globals() -> list:
    """numpy objects that pickled arrays and scalars reference."""
    try:  # numpy 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1
        from numpy.core import multiarray
    dtype_classes = {
        type(np.dtype(code))
        for code in ('?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q',
                     'e', 'f', 'd', 'g', 'U', 'S', 'O')
    }
    return [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar,
            *sorted(dtype_classes, key=lambda c: c.__name__)]


def _safe_globals() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, getattr, *_numpy_pickle_globals()]


def _allow_mmengine_checkpoints() -> None:
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch<2.4 has no weights_only default
        return
    add_safe_globals(_safe_globals())


def apply_runtime_fixes() -> None:
    """Apply every fix; safe to call more than once."""
    _numpy_bool8_alias()
    _allow_mmengine_checkpoints()


apply_runtime_fixes()
MMENGINE_CHECKPOINT_SAFE_GLOBALS = tuple(_safe_globals())
