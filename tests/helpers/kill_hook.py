"""A hook that kills the training process right after a given iteration.

Used to simulate a crash: it runs after every other hook (CheckpointHook
included) and leaves with ``os._exit``, so nothing gets cleaned up.
"""
import os

from mmengine.hooks import Hook
from mmagic.registry import HOOKS

KILLED_EXIT_CODE = 77


@HOOKS.register_module()
class KillAfterIterHook(Hook):
    priority = 'LOWEST'

    def __init__(self, kill_after_iter: int) -> None:
        self.kill_after_iter = kill_after_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 >= self.kill_after_iter:
            os._exit(KILLED_EXIT_CODE)
