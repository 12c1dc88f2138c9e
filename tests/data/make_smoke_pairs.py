"""Write a handful of small paired images for the smoke tests.

Layout (what ``configs/smoke/restormer_smoke.py`` reads)::

    ROOT/{train,val}/input/NNNN.png   noisy
    ROOT/{train,val}/target/NNNN.png  clean

Usage: ``python tests/data/make_smoke_pairs.py [ROOT]`` (default data/smoke_pairs).
"""
import os
import os.path as osp
import sys

import cv2
import numpy as np


def make_smoke_pairs(root: str,
                     num_train: int = 4,
                     num_val: int = 2,
                     size: int = 48,
                     sigma: float = 15.,
                     seed: int = 0) -> str:
    """Make smooth random colour images and their noisy copies under ``root``."""
    rng = np.random.default_rng(seed)
    for split, num in (('train', num_train), ('val', num_val)):
        for sub in ('input', 'target'):
            os.makedirs(osp.join(root, split, sub), exist_ok=True)
        for i in range(num):
            coarse = rng.uniform(0, 255, (size // 8, size // 8, 3))
            clean = cv2.resize(coarse, (size, size),
                               interpolation=cv2.INTER_CUBIC)
            clean = np.clip(clean, 0, 255).astype(np.uint8)
            noisy = clean + rng.normal(0, sigma, clean.shape)
            noisy = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
            name = f'{i:04d}.png'
            cv2.imwrite(osp.join(root, split, 'target', name), clean)
            cv2.imwrite(osp.join(root, split, 'input', name), noisy)
    return root


if __name__ == '__main__':
    out = make_smoke_pairs(sys.argv[1] if len(sys.argv) > 1 else
                           'data/smoke_pairs')
    print(f'wrote smoke pairs to {out}')
