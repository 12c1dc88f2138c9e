"""Seed the global random number generators at the start of every epoch."""
import random
from typing import List

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop
from mmagic.registry import HOOKS

__all__ = ['EpochSeedHook', 'epoch_seed_words', 'seed_global_rngs']


def epoch_seed_words(seed: int, epoch: int) -> List[int]:
    """Four 32-bit words drawn from ``(seed, epoch)`` by a SeedSequence.

    A SeedSequence, not ``seed + epoch``: neighbouring runs (seed 0 epoch 1
    vs seed 1 epoch 0) must not share streams.
    """
    if seed < 0 or epoch < 0:
        raise ValueError(f'seed and epoch must be >= 0, got seed={seed}, '
                         f'epoch={epoch}')
    words = np.random.SeedSequence([seed, epoch]).generate_state(4)
    return [int(w) for w in words]


def seed_global_rngs(seed: int, epoch: int) -> None:
    """Seed Python's, numpy's and torch's (CPU and CUDA) global RNGs."""
    w = epoch_seed_words(seed, epoch)
    random.seed((w[0] << 96) | (w[1] << 64) | (w[2] << 32) | w[3])
    np.random.seed(w)
    # Also seeds every CUDA device.
    torch.manual_seed((w[0] << 32) | w[1])


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Make each training epoch's randomness depend on (seed, epoch) only.

    MMEngine seeds the global RNGs once, when the runner starts, and its
    checkpoints do not store their states. A resumed run therefore draws
    from the start-of-run streams where the uninterrupted run was already
    epochs further: the random crops and flips of the data pipeline (numpy's
    global RNG when ``num_workers=0``), the router's Monte Carlo queue draw
    (``torch.randperm``) and any dropout differ, and the two runs diverge.

    This hook seeds Python's, numpy's and torch's global RNGs at the start
    of every epoch from ``(runner.seed, epoch)`` - what MMEngine's
    ``DefaultSampler`` already does for the data order. A run resumed from
    an epoch checkpoint then replays the remaining epochs exactly, whatever
    ran before (validation, a kill mid-epoch, the stage switch), and with
    ``diff_rank_seed`` every rank keeps its own stream (``runner.seed``
    includes the rank). Saving the RNG states in the checkpoint instead
    would miss the ranks other than 0 (checkpoints are written by rank 0
    only) and the draws that validation makes after the checkpoint is
    written.

    Limits: data workers are processes of their own. With
    ``persistent_workers=True`` their streams run on across epochs and a
    resumed run restarts them, so its augmentations differ (equally random,
    not bit-identical); with ``num_workers=0`` or non-persistent workers
    resume is exact. Iteration-based loops have no epochs: there the hook
    does nothing.

    It runs after the other hooks' ``before_train_epoch`` (the stage switch
    included), right before the epoch's first batch is drawn.
    """

    priority = 'VERY_LOW'

    def before_train(self, runner) -> None:
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            runner.logger.info(
                'EpochSeedHook: iteration-based training has no epochs; the '
                'global RNGs are seeded once, by the runner')
        else:
            runner.logger.info(
                f'EpochSeedHook: every epoch seeds the global RNGs from '
                f'(seed={runner.seed}, epoch)')

    def before_train_epoch(self, runner) -> None:
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            return
        seed_global_rngs(runner.seed, runner.epoch)
