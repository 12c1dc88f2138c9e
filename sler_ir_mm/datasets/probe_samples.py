"""A fixed, small set of training samples per task, to watch the routes on.

Route diagnostics compare how a model routes its training patches with how
it routes test images. The training patches come from the training
datasets themselves (their pipeline: random crop, flips, on-the-fly noise),
drawn under a fixed seed and with the global random state restored after,
so that the same probe is drawn every time and training is not disturbed.
"""
import contextlib
import random
from collections import OrderedDict
from typing import Dict, Iterator, List, Tuple

import numpy as np
import torch
from mmengine.dataset import ConcatDataset, RepeatDataset

__all__ = ['task_subsets', 'probe_samples', 'seeded_global_rngs']


def _leaves(dataset) -> Iterator[Tuple[object, int]]:
    """(leaf dataset, its first global index) of a dataset tree; a
    ``RepeatDataset`` counts once (its copies are the same samples)."""
    if isinstance(dataset, ConcatDataset):
        start = 0
        for sub, end in zip(dataset.datasets, dataset.cumulative_sizes):
            for leaf, offset in _leaves(sub):
                yield leaf, start + offset
            start = end
    elif isinstance(dataset, RepeatDataset):
        yield from _leaves(dataset.dataset)
    else:
        yield dataset, 0


def task_subsets(dataset) -> Dict[str, List[Tuple[object, int]]]:
    """Leaf datasets of a (concatenated) training set, grouped by task.

    Returns:
        dict: task name -> list of ``(leaf dataset, first global index)``,
        in dataset order (e.g. the denoising set once per noise level).

    Raises:
        ValueError: A leaf dataset has no ``task_name``.
    """
    groups: Dict[str, list] = OrderedDict()
    for leaf, offset in _leaves(dataset):
        task = getattr(leaf, 'task_name', None)
        if task is None:
            task = getattr(leaf, 'metainfo', {}).get('task_name')
        if task is None:
            raise ValueError(
                f'{type(leaf).__name__} has no task_name: route diagnostics '
                'need one task per training dataset (DegradationPairDataset,'
                ' CleanImageDataset)')
        groups.setdefault(str(task), []).append((leaf, offset))
    return groups


@contextlib.contextmanager
def seeded_global_rngs(seed: int):
    """Seed Python's, numpy's and torch's global RNGs; restore them after."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def probe_samples(dataset, per_task: int,
                  seed: int = 0) -> Tuple[List[dict], List[str]]:
    """``per_task`` training samples of each task, drawn reproducibly.

    Samples are spread evenly over the task's images (and over its leaf
    datasets, e.g. its noise levels) and go through the dataset's own
    pipeline under ``seed``; the global random state is left as it was.

    Args:
        dataset: The training dataset (a ``ConcatDataset`` of one dataset
            per task, possibly repeated, or one dataset).
        per_task (int): Samples per task.
        seed (int): Seed of the pipelines' randomness. Default: 0.

    Returns:
        tuple: The pipeline outputs (``inputs``, ``data_samples``), task by
        task, and the task of each.
    """
    if isinstance(per_task, bool) or not isinstance(per_task, int) \
            or per_task < 1:
        raise ValueError(f'per_task must be an int >= 1, got {per_task!r}')
    samples, tasks = [], []
    with seeded_global_rngs(seed):
        for task, leaves in task_subsets(dataset).items():
            for k in range(per_task):
                leaf, _ = leaves[k % len(leaves)]
                # The k-th sample of this leaf, evenly spaced over it.
                count = per_task // len(leaves) + (
                    k % len(leaves) < per_task % len(leaves))
                j = k // len(leaves)
                samples.append(leaf[(j * len(leaf)) // max(count, 1)])
                tasks.append(task)
    return samples, tasks
