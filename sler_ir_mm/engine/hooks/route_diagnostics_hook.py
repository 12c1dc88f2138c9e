"""Watch, during training, whether the router separates the tasks."""
import json
import os.path as osp
from typing import Optional

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmagic.registry import HOOKS, MODELS

from sler_ir_mm.datasets.probe_samples import probe_samples
from sler_ir_mm.utils import check_int
from sler_ir_mm.evaluation.composite_routes import composite_route_stats
from sler_ir_mm.evaluation.route_stats import (format_path, route_samples,
                                          routing_diagnostics)

__all__ = ['RouteDiagnosticsHook']


@HOOKS.register_module()
class RouteDiagnosticsHook(Hook):
    """Log route diagnostics on a fixed probe of training patches.

    The probe is ``per_task`` samples of each task of the training set,
    drawn once through the training pipeline under a fixed seed (the global
    random state is restored, so training is not disturbed). After every
    ``interval``-th epoch of stage 1 (and after the last one) the model
    routes the probe in eval mode and the hook logs: how many distinct
    paths the tasks' main paths are (``task_paths``), the normalised mutual
    information of path and task (``nmi``), the lowest per-task purity,
    the lowest per-layer expert balance, the most similar pair of tasks'
    routing vectors (``max_cross_cosine``) and the contrastive loss on the
    probe in both its forms (``hc_class_pairs``, ``hc_batch_mean``: 0 for
    the latter while the former is > 0 is the batch-mean hinge's blind
    spot), and the share of the epoch's training batches whose contrastive
    loss was 0 (``hc_zero_share``, from the model's ``hc_zero`` output).
    When the training set has composite tasks (``'a+b'``) beside their
    components, the record also holds ``composites``
    (:func:`~sler_ir_mm.evaluation.composite_routes.composite_route_stats`:
    how the mixes' patches follow the components' paths, the hybrid share)
    and the log one line per mix.
    The scalars go to the visualizer (``route/...``), the full
    record (per-task main paths, expert usage, the task-pair cosine matrix)
    to ``<log_dir>/route_diagnostics.jsonl``.

    Args:
        per_task (int): Probe samples per task. Default: 16.
        interval (int): Epochs between two reports in stage 1. Default: 1.
        batch_size (int): Probe samples routed at once. Default: 16.
        seed (int): Seed of the probe's draw. Default: 0.
        margin (float): Margin of the contrastive forms reported.
            Default: 0.5.
    """

    priority = 'LOW'

    def __init__(self,
                 per_task: int = 16,
                 interval: int = 1,
                 batch_size: int = 16,
                 seed: int = 0,
                 margin: float = 0.5) -> None:
        check_int('per_task', per_task)
        check_int('interval', interval)
        check_int('batch_size', batch_size)
        check_int('seed', seed, minimum=0)
        self.per_task = per_task
        self.interval = interval
        self.batch_size = batch_size
        self.seed = seed
        self.forms = {
            form: MODELS.build(
                dict(type='HypersphericalContrastiveLoss', margin=margin,
                     mode=form)) for form in ('class_pairs', 'batch_mean')
        }
        self._probe: Optional[list] = None
        self._tasks: list = []
        self._zero_batches = self._batches = 0

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if getattr(model, 'router', None) is None or not hasattr(
                model, 'route'):
            runner.logger.warning(
                f'RouteDiagnosticsHook: {type(model).__name__} does not '
                'route; no route diagnostics')
            return
        self._probe, self._tasks = probe_samples(
            runner.train_dataloader.dataset, self.per_task, self.seed)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if outputs and 'hc_zero' in outputs and getattr(
                self._model(runner), 'stage', 1) == 1:
            self._zero_batches += float(outputs['hc_zero'])
            self._batches += 1

    def after_train_epoch(self, runner) -> None:
        model = self._model(runner)
        zero_share = (self._zero_batches / self._batches
                      if self._batches else None)
        self._zero_batches = self._batches = 0
        if self._probe is None or getattr(model, 'stage', 1) != 1:
            return
        epoch = runner.epoch + 1  # epochs done
        last = epoch == runner.max_epochs or self._switches_next(runner)
        if epoch % self.interval and not last:
            return
        record = self.diagnose(model)
        record.update(epoch=epoch, iter=runner.iter,
                      hc_zero_share=zero_share)
        runner.logger.info(self.format(record))
        runner.visualizer.add_scalars(
            {
                f'route/{key}': record[key]
                for key in ('task_paths', 'nmi', 'min_purity',
                            'min_layer_balance', 'max_cross_cosine',
                            'hc_class_pairs', 'hc_batch_mean',
                            'hc_zero_share') if record[key] is not None
            },
            step=runner.iter)
        if is_main_process():
            path = osp.join(runner.log_dir, 'route_diagnostics.jsonl')
            with open(path, 'a', encoding='utf-8') as f:
                f.write(json.dumps(record) + '\n')

    @staticmethod
    def _switches_next(runner) -> bool:
        """Whether the next epoch is the first of stage 2."""
        for hook in runner.hooks:
            switch = getattr(hook, 'switch_epoch', None)
            if type(hook).__name__ == 'RoutingStageSwitchHook' and \
                    switch is not None:
                return runner.epoch + 1 == switch
        return False

    @torch.no_grad()
    def diagnose(self, model) -> dict:
        """Route the probe and summarise; the model's mode is restored."""
        was_training = model.training
        model.eval()
        try:
            batches = (pseudo_collate(self._probe[i:i + self.batch_size])
                       for i in range(0, len(self._probe), self.batch_size))
            routes, embeddings, _ = route_samples(model, batches)
        finally:
            model.train(was_training)
        tasks = self._tasks
        labels = torch.tensor(
            [sorted(set(tasks)).index(t) for t in tasks])
        emb = torch.from_numpy(embeddings)
        record = routing_diagnostics(routes, embeddings, tasks,
                                     int(model.router.num_experts))
        cos = record['cosine']['cosine']
        record['max_cross_cosine'] = max(
            (cos[a][b] for a in range(len(cos)) for b in range(len(cos))
             if a != b),
            default=-1.0)
        for form, loss in self.forms.items():
            record[f'hc_{form}'] = float(loss(emb, labels))
        if any('+' in t for t in tasks):
            record['composites'] = composite_route_stats(
                routes, tasks, int(model.router.num_experts))
        return record

    @staticmethod
    def format(record: dict) -> str:
        """One log line per task, after a summary line."""
        lines = [
            f'route diagnostics on the training probe (epoch '
            f'{record.get("epoch")}): {record["task_paths"]} distinct main '
            f'paths for {len(record["tasks"])} tasks, NMI(path, task) '
            f'{record["nmi"]:.3f}, min purity {record["min_purity"]:.2f}, '
            f'min per-layer balance {record["min_layer_balance"]:.2f}, max '
            f'cosine between tasks {record["max_cross_cosine"]:.2f}, L_HC '
            f'class pairs {record["hc_class_pairs"]:.3f} / batch mean '
            f'{record["hc_batch_mean"]:.3f}'
        ]
        if record.get('hc_zero_share') is not None:
            lines[0] += (f'; the training loss L_HC was 0 in '
                         f'{100 * record["hc_zero_share"]:.0f}% of this '
                         "epoch's batches")
        for task, s in record['tasks'].items():
            lines.append(f'  {task}: {format_path(s["main_path"])} '
                         f'(purity {s["purity"]:.2f}, {s["num_paths"]} '
                         f'paths)')
        composites = record.get('composites') or {}
        for task, mix in composites.get('mixes', {}).items():
            exclusive = ', '.join(
                f'{c} {n:.1f}'
                for c, n in mix['mean_exclusive_layers'].items())
            hybrid = (f'hybrid {100 * mix["hybrid_share"]:.0f}%'
                      if mix['can_show'] else 'cannot show a hybrid path')
            lines.append(f'  {task}: {hybrid} ({mix["differing_layers"]} '
                         f'layers differ between the components; mean '
                         f'exclusive layers {exclusive})')
        for task, s in composites.get('skipped', {}).items():
            lines.append(f'  {task}: no hybrid statistics, {s["reason"]}')
        return '\n'.join(lines)
