"""Where a study row's training stands, from the checkpoints MMEngine's
``CheckpointHook`` wrote to its work dir."""
import os.path as osp
from typing import Optional

__all__ = ['last_checkpoint', 'final_checkpoint']


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint MMEngine's ``last_checkpoint`` file names, if it is
    there, as a path inside ``work_dir`` (MMEngine writes it absolute; the
    printed commands stay relative).

    Args:
        work_dir (str): The row's work dir.
    """
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    if not path or not osp.isfile(path):
        return None
    local = osp.join(work_dir, osp.basename(path))
    return local if osp.isfile(local) and osp.samefile(local, path) else path


def final_checkpoint(work_dir: str, epochs: int) -> Optional[str]:
    """``work_dir/epoch_<epochs>.pth`` if training got that far.

    Args:
        work_dir (str): The row's work dir.
        epochs (int): The row's epochs, both stages.
    """
    path = osp.join(work_dir, f'epoch_{epochs}.pth')
    return path if osp.isfile(path) else None
