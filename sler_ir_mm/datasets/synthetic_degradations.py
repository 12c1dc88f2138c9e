"""Seeded synthetic degradations of the embedded mini benchmark.

Each function takes a clean RGB image as float32 in [0, 1] (H x W x 3) and a
``numpy.random.Generator``, and returns the degraded image (float32 in
[0, 1]) and a dict of the parameters it drew, so that the same generator
state gives the same image. They model the five degradations of the
all-in-one protocols closely enough for a smoke benchmark, not the real
datasets' statistics:

- ``add_haze``: the atmospheric scattering model ``I = J t + A (1 - t)``
  with ``t = exp(-beta d)`` over a smooth synthetic depth map (RESIDE's
  model, with a random depth instead of an estimated one);
- ``add_rain``: bright, thin, slanted streaks (sparse seeds drawn into
  lines by a motion kernel), added to the image (Rain100L-like);
- ``add_motion_blur``: a random linear motion kernel of 15-31 px
  (GoPro-like blur);
- ``darken``: gamma and exposure reduction plus a little sensor noise
  (LOL-like low light);
- ``add_noise``: Gaussian sensor noise (only inside composites: the
  single-task noise is ``AddGaussianNoise`` on the fly).

``compose`` applies several of them to one image in the physical order of
image formation (:data:`PHYSICAL_ORDER`): effects in the scene (rain
streaks, then the haze in front of them), then the optics (motion blur),
then the exposure (low light), then the sensor (noise).
"""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

Degraded = Tuple[np.ndarray, Dict[str, float]]


def _check_image(img: np.ndarray) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.float32:
        raise ValueError('expected an H x W x 3 float32 image in [0, 1], got '
                         f'{img.dtype} {img.shape}')


def _line_kernel(length: int, angle_deg: float, size: int) -> np.ndarray:
    """A normalised line of ``length`` pixels through the center of a
    ``size`` x ``size`` kernel, drawn anti-aliased on a 4x canvas."""
    scale = 4
    canvas = np.zeros((size * scale, size * scale), np.float32)
    center = (size * scale - 1) / 2.0
    half = (length - 1) * scale / 2.0
    dx = half * np.cos(np.deg2rad(angle_deg))
    dy = half * np.sin(np.deg2rad(angle_deg))
    shift = 4  # sub-pixel precision bits of cv2.line
    p0 = (int(round((center - dx) * 2**shift)),
          int(round((center - dy) * 2**shift)))
    p1 = (int(round((center + dx) * 2**shift)),
          int(round((center + dy) * 2**shift)))
    cv2.line(canvas, p0, p1, 1.0, thickness=scale, lineType=cv2.LINE_AA,
             shift=shift)
    kernel = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return kernel / kernel.sum()


def _smooth_field(shape: Tuple[int, int], rng: np.random.Generator,
                  cells: int) -> np.ndarray:
    """A smooth random field in [0, 1]: coarse uniform noise upsampled."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    field = cv2.resize(coarse, (shape[1], shape[0]),
                       interpolation=cv2.INTER_CUBIC)
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def add_haze(img: np.ndarray, rng: np.random.Generator) -> Degraded:
    """Haze by the atmospheric scattering model.

    Depth grows towards the top of the image (the sky side of a street
    photo) with a smooth random variation, scaled to [0.2, 1]; ``beta`` in
    [0.6, 1.4] and the airlight ``A`` in [0.7, 0.95], so the transmission
    stays in about [0.25, 0.9] (RESIDE OTS's ranges, roughly).
    """
    _check_image(img)
    h, w = img.shape[:2]
    rows = np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None]
    depth = 0.6 * rows + 0.4 * _smooth_field((h, w), rng, cells=4)
    beta = float(rng.uniform(0.6, 1.4))
    airlight = float(rng.uniform(0.7, 0.95))
    trans = np.exp(-beta * (0.2 + 0.8 * depth))[..., None]
    out = img * trans + airlight * (1.0 - trans)
    return np.clip(out, 0, 1).astype(np.float32), dict(
        beta=beta, airlight=airlight)


def add_rain(img: np.ndarray, rng: np.random.Generator) -> Degraded:
    """Thin bright rain streaks of one direction, added to the image."""
    _check_image(img)
    h, w = img.shape[:2]
    density = float(rng.uniform(0.004, 0.012))
    seeds = (rng.random((h, w)) < density).astype(np.float32)
    seeds *= rng.uniform(0.5, 1.0, size=(h, w)).astype(np.float32)
    length = int(rng.integers(9, 20))
    # Angle from the vertical, in the image's (x right, y down) frame.
    angle = float(90.0 + rng.uniform(-25.0, 25.0))
    size = length + 2 + (length % 2 == 0)
    streaks = cv2.filter2D(seeds, -1, _line_kernel(length, angle, size),
                           borderType=cv2.BORDER_REFLECT)
    streaks = cv2.GaussianBlur(streaks, (3, 3), 0.5)
    strength = float(rng.uniform(0.6, 0.9))
    streaks = np.clip(streaks * length * strength, 0, 1)
    out = img + streaks[..., None]
    return np.clip(out, 0, 1).astype(np.float32), dict(
        density=density, length=float(length), angle=angle,
        strength=strength)


def add_motion_blur(img: np.ndarray, rng: np.random.Generator) -> Degraded:
    """Blur by a linear motion kernel of random length and direction.

    Lengths of 15-31 px: chosen on the training photos (mini benchmark v2,
    ``results/mini_benchmark_v2/calibrate_blur.py``) so that the blur
    leaves room to restore, as GoPro's does (inputs about 25-26 dB); 9-19
    px left the test inputs at 28.7 dB, above what any model reached.
    """
    _check_image(img)
    length = int(rng.integers(15, 32))
    angle = float(rng.uniform(0.0, 180.0))
    size = length + (length % 2 == 0)
    kernel = _line_kernel(length, angle, size)
    out = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return np.clip(out, 0, 1).astype(np.float32), dict(
        length=float(length), angle=angle)


def darken(img: np.ndarray, rng: np.random.Generator) -> Degraded:
    """Low light: gamma, exposure cut and a little Gaussian sensor noise."""
    _check_image(img)
    gamma = float(rng.uniform(1.4, 2.2))
    exposure = float(rng.uniform(0.15, 0.35))
    noise_sigma = float(rng.uniform(0.002, 0.01))
    out = exposure * np.power(img, gamma)
    out = out + rng.normal(0.0, noise_sigma, size=img.shape)
    return np.clip(out, 0, 1).astype(np.float32), dict(
        gamma=gamma, exposure=exposure, noise_sigma=noise_sigma)


def add_noise(img: np.ndarray, rng: np.random.Generator) -> Degraded:
    """Gaussian sensor noise, sigma in [10, 25] (of 255), clipped."""
    _check_image(img)
    sigma = float(rng.uniform(10.0, 25.0))
    out = img + rng.normal(0.0, sigma / 255.0, size=img.shape)
    return np.clip(out, 0, 1).astype(np.float32), dict(sigma=sigma)


DEGRADATIONS = dict(
    derain=add_rain,
    dehaze=add_haze,
    deblur=add_motion_blur,
    lowlight=darken,
)

# Image formation order: scene (rain, then the haze in front of it),
# optics (blur), exposure (low light), sensor (noise).
PHYSICAL_ORDER = ('derain', 'dehaze', 'deblur', 'lowlight', 'denoise')
_COMPONENTS = dict(DEGRADATIONS, denoise=add_noise)


def compose(img: np.ndarray, tasks: Sequence[str],
            rng: np.random.Generator) -> Degraded:
    """Apply several degradations to one image in :data:`PHYSICAL_ORDER`.

    Args:
        img (np.ndarray): Clean H x W x 3 float32 image in [0, 1].
        tasks (Sequence[str]): Two or more distinct task names of
            :data:`PHYSICAL_ORDER`, listed in that order (the order is the
            composite's name, e.g. ``('derain', 'dehaze')``).
        rng (np.random.Generator): Draws every component's parameters.

    Returns:
        tuple: The degraded image and ``{'<task>.<param>': value}``.
    """
    tasks = tuple(tasks)
    unknown = [t for t in tasks if t not in PHYSICAL_ORDER]
    if unknown:
        raise ValueError(f'unknown degradations {unknown}; known: '
                         f'{list(PHYSICAL_ORDER)}')
    if len(tasks) < 2 or len(set(tasks)) != len(tasks):
        raise ValueError(f'a composite needs two or more distinct '
                         f'degradations, got {list(tasks)}')
    ordered = tuple(t for t in PHYSICAL_ORDER if t in tasks)
    if tasks != ordered:
        raise ValueError(f'list the degradations in the physical order '
                         f'{list(ordered)}, got {list(tasks)}')
    params: Dict[str, float] = {}
    for task in tasks:
        img, drawn = _COMPONENTS[task](img, rng)
        params.update({f'{task}.{k}': v for k, v in drawn.items()})
    return img, params
