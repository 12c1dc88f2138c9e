"""PeakMemory: the peak resident memory and time of a block."""
import sys

import numpy as np
import pytest

from sler_ir_mm.demo import PeakMemory
from sler_ir_mm.demo import peak_memory


@pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='the per-block peak is read from Linux /proc')
def test_the_peak_of_a_block_is_measured():
    # Reset first: the peak before the block must not count.
    with PeakMemory() as small:
        np.ones(1 << 20, np.uint8).sum()
    with PeakMemory() as big:
        block = np.ones(300 << 20, np.uint8)  # 300 MB, touched
        del block
    assert not big.whole_process
    assert big.peak_bytes - small.peak_bytes > 250e6
    assert big.seconds > 0
    assert big.describe().endswith(f'{big.seconds:.1f} s')
    assert 'GB peak resident memory' in big.describe()


def test_without_clear_refs_the_process_peak_is_reported(monkeypatch):
    monkeypatch.setattr(peak_memory, '_CLEAR_REFS', '/nonexistent/clear')
    with PeakMemory() as peak:
        pass
    assert peak.whole_process
    if peak.peak_bytes is not None:  # getrusage exists (not Windows)
        assert peak.peak_bytes > 0
        assert 'of the process so far' in peak.describe()
