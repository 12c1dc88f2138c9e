"""Write a tiny tree in CDD-11's layout for the tests.

``ROOT/CDD-11_{train,test}/clear/NNNN.png`` and, for each of the 11 types,
``ROOT/CDD-11_{train,test}/<type>/NNNN.png`` (the clear image darkened,
brightened or speckled: the pixels need not look like the real
degradations, only differ from the clear image). Deterministic.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np

from sler_ir_mm.datasets.cdd11 import (CDD11_CLEAR, CDD11_TEST_DIR,
                                       CDD11_TRAIN_DIR, CDD11_TYPES)


def make_cdd11_tree(root: str,
                    num_images: int = 2,
                    size: int = 32,
                    train_size: Optional[int] = None,
                    types: Sequence[str] = CDD11_TYPES) -> str:
    """Write the tree under ``root`` and return ``root``.

    Args:
        root (str): Folder to write into (the ``data_root``).
        num_images (int): Images per type and split.
        size (int): Side of the test images (and of the training ones unless
            ``train_size`` is given).
        train_size (int, optional): Side of the training images.
        types (Sequence[str]): Type folders to write.
    """
    rng = np.random.default_rng(0)
    for split, side in ((CDD11_TRAIN_DIR, train_size or size),
                        (CDD11_TEST_DIR, size)):
        for folder in (CDD11_CLEAR, ) + tuple(types):
            os.makedirs(osp.join(root, split, folder), exist_ok=True)
        for i in range(num_images):
            name = f'{i + 1:06d}.png'
            clear = rng.integers(40, 216, (side, side, 3), np.uint8)
            cv2.imwrite(osp.join(root, split, CDD11_CLEAR, name), clear)
            for k, folder in enumerate(types):
                shift = rng.normal(0, 10 + k, clear.shape) - 20
                degraded = np.clip(clear + shift, 0, 255).astype(np.uint8)
                cv2.imwrite(osp.join(root, split, folder, name), degraded)
    return root
