"""One-off record: choose the mini benchmark v2's motion-blur lengths on the
TRAINING photos (never the test photos).

Each training photo is prepared as a test photo is (scaled to cover the
2 x 3 grid of 128 x 128 cells, cut into them) and blurred with the linear
motion kernel of ``synthetic_degradations.add_motion_blur`` at several
length ranges; the script prints the mean input PSNR (MMagic's convention:
RGB, [0, 255], 8-bit images) per range. Target from issue 21: the blur set's
input PSNR between 22 and 26 dB (GoPro's inputs score about 25-26 dB).

    python results/mini_benchmark_v2/calibrate_blur.py
"""
import json
import sys

import numpy as np

from sler_ir_mm.datasets import mini_benchmark as mb
from sler_ir_mm.datasets import synthetic_degradations as sd


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64))**2)
    return float(10 * np.log10(255.0**2 / mse))


def blur(img: np.ndarray, rng: np.random.Generator, lo: int, hi: int):
    length = int(rng.integers(lo, hi + 1))
    angle = float(rng.uniform(0.0, 180.0))
    size = length + (length % 2 == 0)
    import cv2
    out = cv2.filter2D(img, -1, sd._line_kernel(length, angle, size),
                       borderType=cv2.BORDER_REFLECT)
    return np.clip(out, 0, 1).astype(np.float32)


def main() -> dict:
    cells = [c for name in mb.TRAIN_PHOTOS
             for c in mb._test_grid(mb.load_photo(name))]
    results = {}
    for lo, hi in [(9, 19), (15, 31), (21, 41), (25, 45), (31, 51)]:
        rng = np.random.default_rng(0)
        scores = [psnr(mb._to_uint8(blur(mb._to_float(c), rng, lo, hi)), c)
                  for c in cells]
        results[f'{lo}-{hi}'] = dict(
            mean=round(float(np.mean(scores)), 2),
            median=round(float(np.median(scores)), 2),
            n=len(scores))
        print(f'length {lo:2d}-{hi:2d} px: mean {np.mean(scores):.2f} dB, '
              f'median {np.median(scores):.2f} dB over {len(scores)} '
              'training-photo cells', flush=True)
    return results


if __name__ == '__main__':
    json.dump(main(), sys.stdout, indent=1)
    print()
