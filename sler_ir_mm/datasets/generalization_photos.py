"""Photos and degradation mixes outside the mini benchmark, to see how a
model's routes and recognition generalise beyond the images it was tested
on (``tools/analysis_tools/route_generalization.py``,
``tools/analysis_tools/recognition_accuracy.py``)."""
from typing import List, Sequence

import cv2
import numpy as np

from .mini_benchmark import TEST_NOISE_SIGMA, load_photo
from .synthetic_degradations import DEGRADATIONS

__all__ = [
    'MIXES', 'PHOTOS', 'SHORT_SIDE', 'SIZE', 'TASKS', 'degrade',
    'photo_crops'
]

#: scikit-image photos neither trained nor tested on by the mini benchmark
#: (v2 trains on 'page', so it is not among them any more; 'clock' is
#: motion-blurred, which tells on the deblur rows).
PHOTOS = ('clock', 'cell', 'colorwheel')
TASKS = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')
MIXES = ('dehaze+denoise', 'deblur+denoise', 'lowlight+denoise',
         'derain+lowlight')
SIZE, SHORT_SIDE = 128, 256


def photo_crops(photos: Sequence[str],
                per_photo: int,
                seed: int = 2026) -> List[np.ndarray]:
    """``per_photo`` random SIZE x SIZE crops of each photo (its short side
    scaled to SHORT_SIDE first), float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    out = []
    for name in photos:
        img = load_photo(name)
        h, w = img.shape[:2]
        scale = SHORT_SIDE / min(h, w)
        img = cv2.resize(
            img, (max(SHORT_SIDE, round(
                w * scale)), max(SHORT_SIDE, round(h * scale))),
            interpolation=cv2.INTER_AREA)
        for _ in range(per_photo):
            top = int(rng.integers(0, img.shape[0] - SIZE + 1))
            left = int(rng.integers(0, img.shape[1] - SIZE + 1))
            out.append(
                img[top:top + SIZE, left:left + SIZE].astype(np.float32) / 255)
    return out


def degrade(img: np.ndarray, tasks: Sequence[str],
            rng: np.random.Generator) -> np.ndarray:
    """Apply ``tasks`` in order (noise at the test sets' sigma), quantised
    to 8 bits as a saved photo is."""
    for task in tasks:
        if task == 'denoise':
            img = np.clip(
                img + rng.normal(0, TEST_NOISE_SIGMA / 255, img.shape), 0, 1)
        else:
            img, _ = DEGRADATIONS[task](img.astype(np.float32), rng)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.float32) / 255
