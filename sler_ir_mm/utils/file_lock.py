"""One process at a time builds a file (or folder) that several processes
may find missing at once, e.g. the training processes of one job."""
import contextlib
import os
import os.path as osp
from typing import Iterator

__all__ = ['file_lock']


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` while the block runs.

    The lock file is created (with its folder) beside ``path`` and left
    there; a second process entering the block for the same ``path`` waits
    until the first one leaves it. The lock is released when the holder
    exits, also when it is killed. Where ``fcntl`` does not exist (Windows)
    the block runs unlocked: callers write their results atomically, so the
    worst case is the same work done twice.

    Args:
        path (str): The file or folder being built.
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f'path must be a non-empty path, got {path!r}')
    try:
        import fcntl
    except ImportError:
        yield
        return
    target = osp.abspath(os.fspath(path))
    os.makedirs(osp.dirname(target), exist_ok=True)
    with open(target + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
