"""Write a handful of small paired images for the smoke tests and configs.

Layout (what ``configs/smoke/*.py`` read), one folder per degradation::

    ROOT/<degradation>/{train,val}/input/NNNN.png   degraded
    ROOT/<degradation>/{train,val}/target/NNNN.png  clean

``noise`` adds Gaussian noise (sigma 15), ``dark`` scales the image down to
30 % brightness (a crude low-light). Deterministic for a given seed.

Usage: ``python tests/helpers/make_smoke_pairs.py [ROOT]`` (default
data/smoke_pairs).
"""
import os
import os.path as osp
import sys
from typing import Sequence

import cv2
import numpy as np

DEGRADATIONS = ('noise', 'dark')


def degrade(clean: np.ndarray, degradation: str,
            rng: np.random.Generator) -> np.ndarray:
    if degradation == 'noise':
        out = clean + rng.normal(0, 15., clean.shape)
    elif degradation == 'dark':
        out = clean * 0.3
    else:
        raise ValueError(f'unknown degradation {degradation!r}, expected one '
                         f'of {DEGRADATIONS}')
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def make_smoke_pairs(root: str,
                     degradations: Sequence[str] = DEGRADATIONS,
                     num_train: int = 4,
                     num_val: int = 2,
                     size: int = 48,
                     seed: int = 0) -> str:
    """Make smooth random colour images and degraded copies under ``root``."""
    rng = np.random.default_rng(seed)
    for degradation in degradations:
        for split, num in (('train', num_train), ('val', num_val)):
            folder = osp.join(root, degradation, split)
            for sub in ('input', 'target'):
                os.makedirs(osp.join(folder, sub), exist_ok=True)
            for i in range(num):
                coarse = rng.uniform(0, 255, (max(size // 8, 1), ) * 2 + (3, ))
                clean = cv2.resize(coarse, (size, size),
                                   interpolation=cv2.INTER_CUBIC)
                clean = np.clip(clean, 0, 255).astype(np.uint8)
                name = f'{i:04d}.png'
                cv2.imwrite(osp.join(folder, 'target', name), clean)
                cv2.imwrite(osp.join(folder, 'input', name),
                            degrade(clean, degradation, rng))
    return root


if __name__ == '__main__':
    out = make_smoke_pairs(sys.argv[1] if len(sys.argv) > 1 else
                           'data/smoke_pairs')
    print(f'wrote smoke pairs ({", ".join(DEGRADATIONS)}) to {out}')
