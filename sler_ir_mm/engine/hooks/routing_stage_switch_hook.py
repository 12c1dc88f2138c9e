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

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self.switch_iter is not None and self._reached(runner):
            self._switch(runner)

    # ---------------------------------------------------------------- helpers
    def _reached(self, runner) -> bool:
        if self.switch_epoch is not None:
            return runner.epoch >= self.switch_epoch
        return runner.iter >= self.switch_iter

    def _switch(self, runner) -> None:
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
            self._rebuild_dataloader(runner)
        self._switched = True
        where = (f'epoch {runner.epoch}' if self.switch_epoch is not None
                 else f'iter {runner.iter}')
        what = ['deterministic routing, routing path frozen, contrastive '
                'loss off'] if self.switch_model_stage else []
        if self.train_batch_size is not None:
            what.append(f'batch size {self.train_batch_size}')
        runner.logger.info(f'RoutingStageSwitchHook: stage 2 from {where}: '
                           + ', '.join(what))

    def _rebuild_dataloader(self, runner) -> None:
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
            loop.dataloader_iterator = _InfiniteDataloaderIterator(loader)
        else:
            # The loop's total is used for ETA and iteration-based
            # schedulers: recount the remaining epochs at the new length.
            remaining = loop.max_epochs - runner.epoch
            loop._max_iters = runner.iter + remaining * len(loader)
