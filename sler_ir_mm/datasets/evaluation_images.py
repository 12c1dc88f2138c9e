"""Degraded / clean image pairs held in memory, for analysis tools: a
config's test sets as ``tools/test.py`` loads them, and a validation split
of the mini benchmark carved from its *training* photos, on which settings
are chosen before anything is measured on the test sets."""
import copy
from collections import OrderedDict
from typing import Dict, List, Sequence

import numpy as np
import torch

from .mini_benchmark import (BASE_SEED, MINI_SET_NAMES, MIXES,
                             TEST_NOISE_SIGMA, TASKS, TRAIN_PHOTOS,
                             _test_grid, load_photo)
from .probe_samples import task_subsets
from .synthetic_degradations import DEGRADATIONS, compose

__all__ = ['config_test_sets', 'mini_validation_sets']

# Seeds the validation draws apart from the training (0) and test (1)
# draws of the same generators.
_VALIDATION_STREAM = 2


def config_test_sets(cfg) -> Dict[str, dict]:
    """Each test set of a config, as ``tools/test.py`` loads it.

    Args:
        cfg (Config): A config with ``test_dataloader`` (one or a list) and
            optionally ``test_evaluator`` (a metric ``prefix`` names a set).

    Returns:
        dict: set name -> ``task``, ``inputs`` and ``targets``, lists of
        (3, H, W) float tensors in [0, 1].
    """
    from mmengine.runner import Runner
    loaders = cfg.get('test_dataloader') or []
    loaders = [loaders] if isinstance(loaders, dict) else list(loaders)
    evaluators = cfg.get('test_evaluator') or [None] * len(loaders)
    sets: Dict[str, dict] = OrderedDict()
    for loader_cfg, evaluator in zip(loaders, evaluators):
        loader = Runner.build_dataloader(
            dict(copy.deepcopy(loader_cfg), batch_size=1, num_workers=0,
                 persistent_workers=False))
        task = next(iter(task_subsets(loader.dataset)))
        inputs: List[torch.Tensor] = []
        targets: List[torch.Tensor] = []
        for batch in loader:
            inputs.append(batch['inputs'][0].float() / 255.)
            targets.append(batch['data_samples'][0].gt_img.float() / 255.)
        name = task
        if isinstance(evaluator, (list, tuple)) and evaluator and \
                evaluator[0].get('prefix'):
            name = evaluator[0]['prefix']
        sets[name] = dict(task=task, inputs=inputs, targets=targets)
    return sets


def _quantize(img: np.ndarray) -> torch.Tensor:
    """[0, 1] float (H, W, 3) -> (3, H, W) tensor of 8-bit levels / 255,
    as a saved and re-read image."""
    img = np.round(np.clip(img, 0, 1) * 255.) / 255.
    return torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)


def mini_validation_sets(
        photos: Sequence[str] = TRAIN_PHOTOS) -> Dict[str, dict]:
    """The mini benchmark's ten sets, made from its training photos.

    Each photo is cut into the test grid's cells (as the test photos are)
    and degraded by the same generators as the test sets, with draws of
    their own; noise at the test sets' sigma. The photos are the training
    photos, so nothing here is a test image: settings chosen here are
    chosen on training data.

    Args:
        photos (Sequence[str]): scikit-image photos. Default: the mini
            benchmark's training photos.

    Returns:
        dict: set name (as in the test tables, noise ``Noise-s25``) ->
        ``task``, ``inputs``, ``targets`` (lists of (3, H, W) float tensors
        in [0, 1]).
    """
    cells = [
        cell.astype(np.float32) / 255. for name in photos
        for cell in _test_grid(load_photo(name))
    ]
    sets: Dict[str, dict] = OrderedDict()
    for index, task in enumerate(TASKS):
        inputs, targets = [], []
        for k, clean in enumerate(cells):
            rng = np.random.default_rng(
                [BASE_SEED, index, _VALIDATION_STREAM, k])
            if task == 'denoise':
                degraded = clean + rng.normal(0, TEST_NOISE_SIGMA / 255.,
                                              clean.shape)
            elif task in MIXES:
                degraded, _ = compose(clean, task.split('+'), rng)
            else:
                degraded, _ = DEGRADATIONS[task](clean, rng)
            inputs.append(_quantize(degraded))
            targets.append(_quantize(clean))
        name = MINI_SET_NAMES[task]
        if task == 'denoise':
            name = f'{name}-s{TEST_NOISE_SIGMA}'
        sets[name] = dict(task=task, inputs=inputs, targets=targets)
    return sets
