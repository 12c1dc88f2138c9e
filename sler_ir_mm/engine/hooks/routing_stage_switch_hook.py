"""Switch SLER-IR from probabilistic (stage 1) to deterministic routing."""
import copy
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator
from mmagic.registry import HOOKS


@HOOKS.register_module()
class RoutingStageSwitchHook(Hook):
    """Enter SLER-IR's stage 2 at a given epoch or iteration.

    At the switch the model routes deterministically (arg-max expert per
    layer), its routing path (router MLP, expert centers, degradation
    encoder) is frozen and the contrastive loss is dropped
    (``model.enter_stage2()``); optionally the train dataloader is rebuilt
    with a new batch size (the paper: 10 in stage 1, 20 in stage 2). The
    learning-rate restart belongs to the config's ``param_scheduler``
    segments (one cosine per stage).

    It is correct on resume, like MMPretrain's ``SwitchRecipeHook``: in
    ``before_train``, which runs after a checkpoint has restored the epoch
    and iteration counters, a run resumed past the switch point re-applies
    the switch (freezing and the new dataloader are not part of a
    checkpoint; the stage itself is a model buffer and is).

    With ``switch_iter`` the switch comes after the iteration before it
    (``after_train_iter``): ``IterBasedTrainLoop`` draws an iteration's
    batch before its ``before_train_iter``, so switching there would train
    the switch iteration on a stage-1 batch. A run resumed past the switch
    draws from the rebuilt stage-2 dataloader what the uninterrupted run
    drew: the loop skips the ``iter`` batches trained before the resume,
    of which only ``iter - switch_iter`` came from the stage-2 dataloader,
    so the first ``switch_iter`` skips draw nothing.

    Args:
        switch_epoch (int, optional): First epoch (0-based) of stage 2, for
            epoch-based training loops.
        switch_iter (int, optional): First iteration (0-based) of stage 2,
            for iteration-based loops. Give exactly one of the two.
        train_batch_size (int, optional): Per-GPU batch size of stage 2.
            None keeps the stage-1 dataloader.
        switch_model_stage (bool): Call ``model.enter_stage2()``. False
            only changes the batch size, so a baseline without routing
            (e.g. MMagic's Restormer) trains with the same batch-size
            schedule. Default: True.
    """

    priority = 'NORMAL'

    def __init__(self,
                 switch_epoch: Optional[int] = None,
                 switch_iter: Optional[int] = None,
                 train_batch_size: Optional[int] = None,
                 switch_model_stage: bool = True) -> None:
        if (switch_epoch is None) == (switch_iter is None):
            raise ValueError('give exactly one of switch_epoch and '
                             f'switch_iter, got switch_epoch={switch_epoch},'
                             f' switch_iter={switch_iter}')
        point = switch_epoch if switch_iter is None else switch_iter
        if not isinstance(point, int) or point < 0:
            raise ValueError(f'the switch point must be an int >= 0, got '
                             f'{point!r}')
        if train_batch_size is not None and train_batch_size < 1:
            raise ValueError(f'train_batch_size must be >= 1, got '
                             f'{train_batch_size}')
        self.switch_epoch = switch_epoch
        self.switch_iter = switch_iter
        if not isinstance(switch_model_stage, bool):
            raise TypeError('switch_model_stage must be a bool, got '
                            f'{switch_model_stage!r}')
        if not switch_model_stage and train_batch_size is None:
            raise ValueError('with switch_model_stage=False the hook only '
                             'changes the batch size: give train_batch_size')
        self.train_batch_size = train_batch_size
        self.switch_model_stage = switch_model_stage
        self._switched = False

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        by_iter = isinstance(runner.train_loop, IterBasedTrainLoop)
        if by_iter != (self.switch_iter is not None):
            raise ValueError(
                f'RoutingStageSwitchHook: use switch_'
                f'{"iter" if by_iter else "epoch"} with '
                f'{type(runner.train_loop).__name__}')
        if self._reached(runner):
            runner.logger.info('RoutingStageSwitchHook: resumed past the '
                               'stage switch, re-applying stage 2')
            self._switch(runner)

    def before_train_epoch(self, runner) -> None:
        if self.switch_epoch is not None and self._reached(runner):
            self._switch(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        # runner.iter is the iteration just trained (the loop counts it
        # after this hook); the loop draws the next batch after it.
        if self.switch_iter is not None and \
                runner.iter + 1 >= self.switch_iter:
            self._switch(runner, next_iter=runner.iter + 1)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        iterator = getattr(runner.train_loop, 'dataloader_iterator', None)
        if isinstance(iterator, _SkippedDraws) and iterator.pending:
            raise RuntimeError(
                'RoutingStageSwitchHook: the train loop did not skip the '
                f'{runner.iter} batches trained before the resume (an '
                'MMEngine whose IterBasedTrainLoop does not skip them?); '
                'resume with switch_epoch instead')

    # ---------------------------------------------------------------- helpers
    def _reached(self, runner) -> bool:
        if self.switch_epoch is not None:
            return runner.epoch >= self.switch_epoch
        return runner.iter >= self.switch_iter

    def _switch(self, runner, next_iter: Optional[int] = None) -> None:
        if self._switched:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if self.switch_model_stage:
            if not hasattr(model, 'enter_stage2'):
                raise TypeError(
                    f'RoutingStageSwitchHook needs a model with '
                    f'enter_stage2() (SLERRestorer), got '
                    f'{type(model).__name__}; use switch_model_stage=False '
                    'to change only the batch size')
            model.enter_stage2()
        if self.train_batch_size is not None:
            self._rebuild_dataloader(runner, live=next_iter is not None)
        self._switched = True
        if self.switch_epoch is not None:
            where = f'epoch {runner.epoch}'
        else:
            where = f'iter {runner.iter if next_iter is None else next_iter}'
        what = ['deterministic routing, routing path frozen, contrastive '
                'loss off'] if self.switch_model_stage else []
        if self.train_batch_size is not None:
            what.append(f'batch size {self.train_batch_size}')
        runner.logger.info(f'RoutingStageSwitchHook: stage 2 from {where}: '
                           + ', '.join(what))

    def _rebuild_dataloader(self, runner, live: bool) -> None:
        loop = runner.train_loop
        cfg = copy.deepcopy(runner.cfg.train_dataloader)
        cfg['batch_size'] = self.train_batch_size
        loader = runner.build_dataloader(cfg, seed=runner.seed)
        # DistSamplerSeedHook may already have seeded this epoch's sampler
        # (the old one): seed the new one the same way, so the data order
        # does not depend on whether the switch came live or on resume.
        sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(runner.epoch)
        loop.dataloader = loader
        if isinstance(loop, IterBasedTrainLoop):
            iterator = _InfiniteDataloaderIterator(loader)
            # Resumed past the switch (before_train): the loop is about to
            # skip the runner.iter batches trained, of which the first
            # switch_iter came from the stage-1 loader in the uninterrupted
            # run; a live switch (after_train_iter) skips nothing.
            skipped = 0 if live else min(self.switch_iter, runner.iter)
            loop.dataloader_iterator = _SkippedDraws(
                loop, iterator, skipped) if skipped else iterator
        else:
            # The loop's total is used for ETA and iteration-based
            # schedulers: recount the remaining epochs at the new length.
            remaining = loop.max_epochs - runner.epoch
            loop._max_iters = runner.iter + remaining * len(loader)


class _SkippedDraws:
    """A train loop's iterator whose first ``count`` draws draw nothing.

    After them the loop gets ``iterator`` back (the loop reads its
    ``dataloader_iterator`` at every draw).

    Args:
        loop (IterBasedTrainLoop): The loop it stands in for.
        iterator (Iterator): The loop's real iterator.
        count (int): Draws that return None without drawing.
    """

    def __init__(self, loop, iterator, count: int) -> None:
        self._loop = loop
        self._iterator = iterator
        self.pending = count

    def __iter__(self):
        return self

    def __next__(self):
        if not self.pending:
            return next(self._iterator)
        self.pending -= 1
        if not self.pending:
            self._loop.dataloader_iterator = self._iterator
        return None
