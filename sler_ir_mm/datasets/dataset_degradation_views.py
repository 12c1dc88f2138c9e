"""Degraded views from an all-in-one training set, labelled by task: the
degradation encoder's pretraining on a user's own data."""
from typing import Sequence, Tuple

import numpy as np
import torch
from mmagic.registry import DATASETS
from torch.utils.data import Dataset

from sler_ir_mm.utils import check_int
from .probe_samples import seeded_global_rngs, task_subsets
from .synthetic_degradation_dataset import random_view

__all__ = ['DatasetDegradationViews']


@DATASETS.register_module()
class DatasetDegradationViews(Dataset):
    """Random views of the degraded images of an all-in-one training set.

    Sample ``i`` depends on ``(seed, i)`` only: it picks a training sample
    at random, runs the dataset's pipeline (crop, flips, on-the-fly noise)
    under a seed drawn from ``(seed, i)`` and takes a random view
    (:func:`~sler_ir_mm.datasets.synthetic_degradation_dataset.random_view`)
    of its degraded image; the label is its task's index in ``tasks`` (the
    task names of the training set, in dataset order).

    Args:
        dataset (dict): The training set's config (e.g. a config's
            ``train_dataloader.dataset``: a ``ConcatDataset`` of one
            dataset per task).
        num_samples (int): Length. Default: 100000.
        seed (int): Seed of the draws. Default: 0.
        view_size (int): Side of the views. Default: 224.
        view_scale (Sequence[float]): Range of the view's crop side over
            ``view_size``. Default: (0.8, 1.25).
    """

    def __init__(self,
                 dataset: dict,
                 num_samples: int = 100000,
                 seed: int = 0,
                 view_size: int = 224,
                 view_scale: Sequence[float] = (0.8, 1.25)) -> None:
        check_int('num_samples', num_samples)
        check_int('seed', seed, minimum=0)
        check_int('view_size', view_size, minimum=8)
        self.dataset = DATASETS.build(dataset)
        self.tasks = tuple(task_subsets(self.dataset))
        # (end index, task) of each top-level part: the task of a sample
        # without reading it (its metainfo need not carry task_name).
        parts = getattr(self.dataset, 'datasets', [self.dataset])
        ends = getattr(self.dataset, 'cumulative_sizes', [len(self.dataset)])
        self._spans = [(end, next(iter(task_subsets(part))))
                       for part, end in zip(parts, ends)]
        self.num_samples = num_samples
        self.seed = seed
        self.view_size = view_size
        self.view_scale = tuple(float(v) for v in view_scale)

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        if not 0 <= index < self.num_samples:
            raise IndexError(f'index {index} out of range for '
                             f'{self.num_samples} samples')
        rng = np.random.default_rng([self.seed, index])
        pick = int(rng.integers(len(self.dataset)))
        with seeded_global_rngs(int(rng.integers(2**31))):
            sample = self.dataset[pick]
        task = next(t for end, t in self._spans if pick < end)
        img = sample['inputs'].permute(1, 2, 0).numpy().astype(np.float32)
        view = random_view(img / 255.0, rng, self.view_size,
                           self.view_scale)
        return (torch.from_numpy(view).permute(2, 0, 1).contiguous(),
                self.tasks.index(task))
