"""Keep freed memory in the process on Linux (glibc), for CPU speed.

PyTorch on the CPU allocates every activation with ``malloc``. glibc serves
blocks above its mmap threshold (128 KiB, growing to at most 32 MiB) with
fresh ``mmap`` pages and gives them back on ``free``, so each forward pass
of an image-sized network faults in and zeroes its whole working set again:
on the 2-core machine of the benchmarks, MMagic's Restormer at 512 x 512
spent 128 s of kernel time for 89 s of compute, and ran in 37.4 s instead
of 13.1 s (``results/speed/allocator.py``). Taking every block from the heap
and not trimming it keeps those pages mapped between passes; peak memory
grew by about a fifth there (3.6 -> 4.35 GB). Outputs are unchanged: only where the
bytes live changes.

The tools call :func:`keep_freed_memory` at start (through
:func:`sler_ir_mm.utils.cli.run_main`); ``SLER_IR_CPU_ALLOCATOR=0`` turns it
off. Importing the package changes nothing.
"""
import ctypes
import ctypes.util
import os
import sys

__all__ = ['ALLOCATOR_ENV', 'keep_freed_memory']

ALLOCATOR_ENV = 'SLER_IR_CPU_ALLOCATOR'

# mallopt parameters of glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of unmapping it.

    Returns:
        bool: Whether the allocator is (now or already) set so; False off
        Linux/glibc, or with ``SLER_IR_CPU_ALLOCATOR=0``.
    """
    global _applied
    if _applied:
        return True
    setting = os.environ.get(ALLOCATOR_ENV, '1').strip().lower()
    if setting in ('0', 'false', 'no', 'off') or not sys.platform.startswith(
            'linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        libc.gnu_get_libc_version  # glibc only (not musl)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    # No mmap'd blocks, no trimming of the heap's top, and 256 MiB of slack
    # per heap growth (fewer brk calls while a pass builds its working set).
    _applied = bool(
        mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
        and mallopt(_M_TOP_PAD, 256 << 20))
    return _applied
