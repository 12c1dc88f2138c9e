"""Example photos for the demo, made from the mini benchmark's test photos.

One photo per single degradation of the mini benchmark (noise, rain,
haze, motion blur, low light): a test photograph of the benchmark (the
scikit-image sample photos, never seen in training), scaled and cropped
to the benchmark's test grid (the 2 x 3 cells of 128 x 128 the test sets
are cut from, 256 x 384 together) and degraded by the benchmark's own
synthetic degradation with a fixed seed. Nothing is downloaded; the files
are written once into a cache folder and reused.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from sler_ir_mm.datasets.mini_benchmark import (TASKS, TEST_GRID,
                                                TEST_NOISE_SIGMA, _test_grid,
                                                load_photo)
from sler_ir_mm.datasets.synthetic_degradations import DEGRADATIONS

__all__ = [
    'EXAMPLES', 'EXAMPLES_VERSION', 'default_examples_dir', 'make_examples'
]

#: Bump when the examples change, so that old caches are not reused.
EXAMPLES_VERSION = 1

#: File stem -> (mini benchmark task, test photo). One per single task.
EXAMPLES: Dict[str, Tuple[str, str]] = {
    'noise_chelsea': ('denoise', 'chelsea'),
    'rain_rocket': ('derain', 'rocket'),
    'haze_coffee': ('dehaze', 'coffee'),
    'blur_camera': ('deblur', 'camera'),
    'lowlight_chelsea': ('lowlight', 'chelsea'),
}

# The seed of every example; the task's index is mixed in, as the mini
# benchmark does for its sets.
_SEED = 20241205


def default_examples_dir() -> str:
    """``$SLER_IR_CACHE/demo_examples_v<N>`` (default cache
    ``~/.cache/sler_ir_mm``, as tools/setup_env.sh uses)."""
    cache = os.environ.get('SLER_IR_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'sler_ir_mm')
    return osp.join(cache, f'demo_examples_v{EXAMPLES_VERSION}')


def _test_photo(name: str) -> np.ndarray:
    """A mini benchmark test photo on its whole test grid, RGB uint8."""
    cells = _test_grid(load_photo(name))
    rows, cols = TEST_GRID
    grid_rows = [
        np.concatenate(cells[r * cols:(r + 1) * cols], axis=1)
        for r in range(rows)
    ]
    return np.concatenate(grid_rows, axis=0)


def _degrade(img: np.ndarray, task: str) -> np.ndarray:
    """The mini benchmark's degradation of ``task`` (its test noise for
    denoise), seeded, on an RGB uint8 image."""
    rng = np.random.default_rng([_SEED, TASKS.index(task)])
    clean = img.astype(np.float32) / 255.0
    if task == 'denoise':
        # The single-task noise of the test sets: Gaussian, sigma 25.
        degraded = clean + rng.normal(0.0, TEST_NOISE_SIGMA / 255.0,
                                      clean.shape)
    else:
        degraded, _ = DEGRADATIONS[task](clean, rng)
    return np.round(np.clip(degraded, 0, 1) * 255.0).astype(np.uint8)


def make_examples(folder: Optional[str] = None) -> List[str]:
    """Write the example photos (once) and return their paths.

    Args:
        folder (str, optional): Where to write them. Default:
            :func:`default_examples_dir`.

    Returns:
        list[str]: PNG paths, in :data:`EXAMPLES` order.
    """
    folder = default_examples_dir() if folder is None else os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    paths, photos = [], {}
    for stem, (task, photo) in EXAMPLES.items():
        path = osp.join(folder, f'{stem}.png')
        paths.append(path)
        if osp.isfile(path):
            continue
        if photo not in photos:
            photos[photo] = _test_photo(photo)
        rgb = _degrade(photos[photo], task)
        # Written under another name and renamed, so that two demos
        # starting at once never read half a file.
        tmp = f'{path}.tmp-{os.getpid()}.png'
        if not cv2.imwrite(tmp, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f'cannot write the demo example {tmp}')
        os.replace(tmp, path)
    return paths
