"""Hooks that kill the training process, to simulate crashes.

``KillAfterIterHook`` leaves with ``os._exit`` right after an iteration.
``SigKillHook`` sends the process a real ``SIGKILL`` (what the OOM killer or
a scheduler's preemption does): after an iteration, at the start of an
epoch, or half-way through writing a checkpoint file. Both run after every
other hook (CheckpointHook and RoutingStageSwitchHook included), so nothing
gets cleaned up and the kill lands after those hooks' work.
"""
import os
import os.path as osp
import signal
from typing import Optional

from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook
from mmagic.registry import HOOKS

KILLED_EXIT_CODE = 77
# subprocess reports a process killed by signal N with return code -N.
SIGKILL_RETURN_CODE = -signal.SIGKILL


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    priority = 'LOWEST'

    def __init__(self, kill_after_iter: int) -> None:
        self.kill_after_iter = kill_after_iter

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 >= self.kill_after_iter:
            os._exit(KILLED_EXIT_CODE)


def _sigkill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class SigKillHook(Hook):
    """SIGKILL the process at one point of the training.

    Args:
        after_iter (int, optional): Right after this iteration (1-based,
            counted over the whole run), before the end-of-epoch hooks.
        at_epoch_start (int, optional): In ``before_train_epoch`` of this
            epoch (0-based), after the other hooks' ``before_train_epoch``:
            with the stage-switch epoch, right after the switch.
        while_saving (str, optional): Half-way through writing the file of
            this basename (e.g. ``'epoch_4.pth'``; a temporary
            ``'epoch_4.pth.*'`` counts too): half of the bytes are on disk.

    Give exactly one of them.
    """

    priority = 'LOWEST'

    def __init__(self,
                 after_iter: Optional[int] = None,
                 at_epoch_start: Optional[int] = None,
                 while_saving: Optional[str] = None) -> None:
        points = [after_iter, at_epoch_start, while_saving]
        if sum(p is not None for p in points) != 1:
            raise ValueError('give exactly one of after_iter, '
                             'at_epoch_start and while_saving')
        self.after_iter = after_iter
        self.at_epoch_start = at_epoch_start
        self.while_saving = while_saving

    def before_run(self, runner) -> None:
        if self.while_saving is not None:
            self._kill_in_put(self.while_saving)

    def before_train_epoch(self, runner) -> None:
        if runner.epoch == self.at_epoch_start:
            _sigkill()

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.after_iter:
            _sigkill()

    @staticmethod
    def _kill_in_put(name: str) -> None:
        # Every local checkpoint write of MMEngine ends in LocalBackend.put.
        put = LocalBackend.put

        def put_then_die(backend, obj, filepath):
            base = osp.basename(str(filepath))
            if base == name or base.startswith(name + '.'):
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                _sigkill()
            return put(backend, obj, filepath)

        LocalBackend.put = put_then_die
