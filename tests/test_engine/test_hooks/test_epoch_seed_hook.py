"""EpochSeedHook: every epoch's random draws depend on (seed, epoch) only.

Exact resume through tools/train.py (killed runs, SIGKILL) is tested in
tests/test_tools/test_killed_runs.py.
"""
import logging
import os.path as osp
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from mmengine.runner.priority import get_priority

from mmagic.registry import HOOKS
from sler_ir_mm.datasets import AddGaussianNoise
from sler_ir_mm.engine.hooks import EpochSeedHook, RoutingStageSwitchHook
from sler_ir_mm.engine.hooks.epoch_seed_hook import (epoch_seed_words,
                                                     seed_global_rngs)


def draws():
    """One draw from each global RNG, and the training noise of a patch."""
    noise = AddGaussianNoise(sigma=25)(
        dict(img=np.full((8, 8, 3), 128, np.uint8)))['img']
    return (random.random(), float(np.random.rand()),
            torch.randperm(50).tolist(), noise.tobytes())


def fake_runner(seed, epoch, loop_cls=EpochBasedTrainLoop):
    # The loops are only type-checked: no need to build one.
    return SimpleNamespace(
        seed=seed,
        epoch=epoch,
        train_loop=loop_cls.__new__(loop_cls),
        logger=logging.getLogger('test_epoch_seed_hook'))


def test_same_seed_and_epoch_same_draws():
    seed_global_rngs(0, 3)
    first = draws()
    draws()  # whatever ran in between does not matter
    seed_global_rngs(0, 3)
    assert draws() == first
    seed_global_rngs(0, 4)
    assert draws() != first
    seed_global_rngs(1, 3)
    assert draws() != first


def test_seed_words():
    # The same words in every process (a resumed run re-seeds in a new one):
    # fixed values, not only equal calls within this process.
    assert epoch_seed_words(0, 1) == [
        3964924996, 1358922860, 3894904162, 2051610843]
    assert epoch_seed_words(7, 9) == [
        621768553, 2921829270, 3495165660, 878301575]
    # Not seed + epoch: neighbouring (seed, epoch) pairs do not collide.
    assert epoch_seed_words(0, 1) != epoch_seed_words(1, 0)
    assert all(0 <= w < 2**32 for w in epoch_seed_words(7, 9))
    with pytest.raises(ValueError, match='>= 0'):
        epoch_seed_words(-1, 0)


def test_hook_seeds_at_epoch_start():
    hook = HOOKS.build(dict(type='EpochSeedHook'))
    assert isinstance(hook, EpochSeedHook)
    runner = fake_runner(seed=5, epoch=2)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    resumed = draws()
    seed_global_rngs(5, 2)
    assert draws() == resumed


def test_hook_leaves_iteration_based_training_alone():
    hook = EpochSeedHook()
    runner = fake_runner(seed=5, epoch=0, loop_cls=IterBasedTrainLoop)
    hook.before_train(runner)
    torch.manual_seed(123)
    hook.before_train_epoch(runner)
    after_hook = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after_hook)


def test_runs_after_the_stage_switch():
    # Larger number = later: the epoch's draws start after the switch.
    assert get_priority(EpochSeedHook.priority) > get_priority(
        RoutingStageSwitchHook.priority)


@pytest.mark.parametrize('cfg', [
    'sler_ir_3task.py', 'sler_ir_mini_5task.py',
    osp.join('smoke', 'sler_ir_smoke.py')
])
def test_on_in_the_shipped_configs(repo_root, cfg):
    cfg = Config.fromfile(osp.join(repo_root, 'configs', cfg))
    assert cfg.default_hooks.epoch_seed.type == 'EpochSeedHook'
