"""The peak resident memory of the process while a block of code runs.

On Linux the kernel keeps the process's resident high-water mark
(``VmHWM`` in ``/proc/self/status``) and resets it when ``5`` is written to
``/proc/self/clear_refs``, so the peak of one restore can be read without
sampling. Where that is not possible (another OS, a locked-down /proc), the
peak of the whole process so far (``getrusage``) is reported and marked as
such.
"""
import re
import sys
import time
from typing import Optional

__all__ = ['PeakMemory']

_STATUS = '/proc/self/status'
_CLEAR_REFS = '/proc/self/clear_refs'


def _read_hwm_bytes() -> Optional[int]:
    try:
        with open(_STATUS) as f:
            match = re.search(r'^VmHWM:\s+(\d+)\s+kB', f.read(), re.MULTILINE)
    except OSError:
        return None
    return None if match is None else int(match.group(1)) * 1024


def _reset_hwm() -> bool:
    try:
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')
    except OSError:
        return False
    return True


def _process_peak_bytes() -> Optional[int]:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS.
    return peak if sys.platform == 'darwin' else peak * 1024


class PeakMemory:
    """Measure the peak resident memory and the time of a block.

    Example::

        with PeakMemory() as peak:
            restore_image(model, photo)
        print(peak.describe())  # '1.23 GB peak resident memory, 4.5 s'

    Attributes:
        peak_bytes (int | None): The peak resident memory (after the block).
        whole_process (bool): True when only the process's peak since it
            started could be read, not the block's own.
        seconds (float): How long the block took.
    """

    def __init__(self) -> None:
        self.peak_bytes: Optional[int] = None
        self.whole_process = False
        self.seconds = 0.0
        self._reset = False
        self._start = 0.0

    def __enter__(self) -> 'PeakMemory':
        self._reset = _reset_hwm() and _read_hwm_bytes() is not None
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        if self._reset:
            self.peak_bytes = _read_hwm_bytes()
        else:
            self.peak_bytes = _process_peak_bytes()
            self.whole_process = True

    def describe(self) -> str:
        """'1.23 GB peak resident memory, 4.5 s' (or '... of the process
        so far' where the block's own peak could not be read)."""
        if self.peak_bytes is None:
            memory = 'peak memory not measurable here'
        else:
            memory = f'{self.peak_bytes / 1e9:.2f} GB peak resident memory'
            if self.whole_process:
                memory += ' (of the process so far)'
        return f'{memory}, {self.seconds:.1f} s'
