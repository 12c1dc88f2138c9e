"""file_lock: one builder at a time per path."""
import os.path as osp
import sys
import threading
import time

import pytest

from sler_ir_mm.utils.file_lock import file_lock


@pytest.mark.skipif(sys.platform == 'win32', reason='no fcntl: no lock')
def test_second_holder_waits_for_the_first(tmp_path):
    target = str(tmp_path / 'sub' / 'built.pth')
    events = []
    held = threading.Event()

    def first():
        with file_lock(target):
            held.set()
            time.sleep(0.3)
            events.append('first leaves')

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with file_lock(target):
        events.append('second enters')
    thread.join()
    assert events == ['first leaves', 'second enters']
    # The lock file sits beside the target, whose folder it made.
    assert osp.isfile(target + '.lock')


def test_bad_path():
    with pytest.raises(ValueError, match='path'):
        with file_lock(''):
            pass
