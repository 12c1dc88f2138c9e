"""Datasets and transforms of the all-in-one restoration protocols.

- ``DegradationPairDataset``: degraded/clean pairs of one task (derain,
  dehaze, deblur, low light), paired by file name (``gt_name``).
- ``CleanImageDataset``: clean images degraded on the fly (denoising).
- ``AddGaussianNoise``: the on-the-fly noise, seeded per image for tests.
- ``LoadImageFromFileChecked``: MMagic's loader, naming unreadable files.
- ``CheckPairedSize``: a pair of different sizes (or smaller than the
  training patch) is an error naming both files.
- ``set_on_error``: switch those two to skip-and-report bad training
  samples (:mod:`sler_ir_mm.datasets.bad_samples`).

Each sample carries ``task_name`` and ``degradation_label``. Folder
layouts and repetition factors of PromptIR (3 tasks) and AdaIR (5 tasks)
are in :mod:`sler_ir_mm.datasets.layouts`. The embedded mini benchmark
(:mod:`sler_ir_mm.datasets.mini_benchmark`) synthesises the five
degradations on scikit-image's sample photos.
"""
from .bad_samples import set_on_error
from .clean_image_dataset import CleanImageDataset
from .data_root import set_data_root
from .dataset_degradation_views import DatasetDegradationViews
from .degradation_pair_dataset import GT_NAME_PRESETS, DegradationPairDataset
from .mini_benchmark import (MINI_LAYOUT, build_mini_benchmark,
                             mini_benchmark_dataset)
from .probe_samples import probe_samples, task_subsets
from .synthetic_degradation_dataset import SyntheticDegradationDataset
from .layouts import (FIVE_TASKS, LOL_V1_LAYOUT, PROMPTIR_LAYOUT, TASK_LABELS,
                      TEST_NOISE_SIGMAS, THREE_TASKS, TRAIN_NOISE_SIGMAS)
from .transforms import (AddGaussianNoise, CheckPairedSize,
                         LoadImageFromFileChecked, UnreadableImageError,
                         stable_hash)

__all__ = [
    'AddGaussianNoise', 'CheckPairedSize', 'CleanImageDataset',
    'DatasetDegradationViews',
    'DegradationPairDataset',
    'FIVE_TASKS', 'GT_NAME_PRESETS', 'LOL_V1_LAYOUT',
    'LoadImageFromFileChecked', 'MINI_LAYOUT', 'PROMPTIR_LAYOUT',
    'SyntheticDegradationDataset', 'TASK_LABELS',
    'TEST_NOISE_SIGMAS', 'THREE_TASKS', 'TRAIN_NOISE_SIGMAS',
    'UnreadableImageError', 'build_mini_benchmark', 'mini_benchmark_dataset',
    'probe_samples', 'set_data_root', 'set_on_error', 'stable_hash', 'task_subsets'
]
