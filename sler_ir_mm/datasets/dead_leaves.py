"""Dead-leaves images: clean synthetic scenes of occluding discs.

The classic model of natural-image statistics (Matheron; Lee, Mumford and
Huang 2001): opaque discs of random colour whose radii follow a power law,
dropped one over another. Their edges, flat regions and scale mix are those
of photos without being any photo, so a degradation encoder that also sees
them learns the degradation rather than the content of a few photos
(issue 22: the mini tower names haze and blur on unseen photos poorly).
"""
from typing import Tuple

import cv2
import numpy as np

from sler_ir_mm.utils import check_float_range, check_int

__all__ = ['dead_leaves_image']


def _power_law_radius(rng: np.random.Generator, low: float, high: float,
                      exponent: float) -> float:
    """A radius drawn with density proportional to r^-exponent on
    [low, high] (inverse transform sampling)."""
    a = 1.0 - exponent
    u = float(rng.random())
    return (low**a + u * (high**a - low**a))**(1.0 / a)


def dead_leaves_image(seed: int,
                      size: Tuple[int, int] = (192, 288),
                      radius: Tuple[float, float] = (4.0, 160.0),
                      exponent: float = 3.0,
                      num_discs: int = 1500) -> np.ndarray:
    """One dead-leaves image, the same for the same arguments.

    Args:
        seed (int): Seed of the draws.
        size (tuple[int, int]): (height, width). Default: (192, 288), the
            scale of the mini benchmark's downscaled training photos.
        radius (tuple[float, float]): Smallest and largest disc radius in
            pixels. Default: (4, 160).
        exponent (float): Radii have density r^-exponent; 3 gives the
            scale invariance of natural images. Default: 3.
        num_discs (int): Discs dropped, enough to cover the canvas.
            Default: 1500.

    Returns:
        ndarray: (height, width, 3) uint8 RGB.
    """
    check_int('seed', seed, minimum=0)
    check_int('num_discs', num_discs, minimum=1)
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f'size must be (height, width) of at least 8 '
                         f'pixels, got {size!r}')
    check_float_range('radius[0]', radius[0], 0.5, float(radius[1]))
    check_float_range('exponent', exponent, 1.0, 10.0, low_open=True)
    rng = np.random.default_rng([seed, 0xDEAD])
    h, w = int(size[0]), int(size[1])
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    # Colours cluster around a few hues per image, as a scene's do, rather
    # than being uniform noise over the cube.
    palette = rng.integers(0, 256, (6, 3)).astype(np.float64)
    for _ in range(num_discs):
        r = _power_law_radius(rng, radius[0], radius[1], exponent)
        cx, cy = rng.uniform(-r, w + r), rng.uniform(-r, h + r)
        base = palette[int(rng.integers(len(palette)))]
        colour = np.clip(base + rng.normal(0, 30, 3), 0, 255)
        cv2.circle(canvas, (int(round(cx)), int(round(cy))),
                   max(int(round(r)), 1),
                   tuple(int(c) for c in colour), thickness=-1,
                   lineType=cv2.LINE_AA)
    # A smooth illumination over the scene: photos have gradients, not
    # only flat regions and edges.
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * gx + np.sin(angle) * gy) / max(h, w)
    light = 1.0 - rng.uniform(0.0, 0.5) * (ramp - ramp.min()) / max(
        float(np.ptp(ramp)), 1e-6)
    return np.clip(canvas * light[..., None] + 0.5, 0, 255).astype(np.uint8)
