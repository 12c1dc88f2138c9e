"""Degraded views of clean photos, made on the fly, with their degradation
class: the data of the degradation encoder's pretraining."""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmagic.registry import DATASETS
from torch.utils.data import Dataset

from sler_ir_mm.utils import check_float_range, check_int
from .dead_leaves import dead_leaves_image
from .mini_benchmark import TRAIN_PHOTOS, TRAIN_SHORT_SIDE, load_photo
from .synthetic_degradations import DEGRADATIONS

__all__ = ['SyntheticDegradationDataset', 'random_view']

# The degradations, by the task names of the all-in-one layouts.
TASKS = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')


def _add_noise(img: np.ndarray, rng: np.random.Generator,
               sigma_range: Tuple[float, float]) -> np.ndarray:
    sigma = float(rng.uniform(*sigma_range)) / 255.0
    noisy = img + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(noisy, 0, 1)


def random_view(img: np.ndarray, rng: np.random.Generator, size: int,
                scale_range: Tuple[float, float]) -> np.ndarray:
    """A random square crop of side ``size * s`` (s drawn from
    ``scale_range``, capped by the image), resized to ``size``, with one of
    the 8 flips / rotations.

    Args:
        img (ndarray): H x W x 3 float32 image.
        rng (Generator): Source of randomness.
        size (int): Side of the returned view.
        scale_range (tuple[float, float]): Range of the crop side over
            ``size``: values near 1 keep the pixels' scale, which is what
            tells noise levels and blur lengths apart.

    Returns:
        ndarray: ``size`` x ``size`` x 3 float32.
    """
    h, w = img.shape[:2]
    side = int(round(size * rng.uniform(*scale_range)))
    side = max(1, min(side, h, w))
    top = int(rng.integers(0, h - side + 1))
    left = int(rng.integers(0, w - side + 1))
    view = img[top:top + side, left:left + side]
    if side != size:
        interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
        view = cv2.resize(view, (size, size), interpolation=interp)
    view = np.rot90(view, int(rng.integers(0, 4)))
    if rng.random() < 0.5:
        view = view[:, ::-1]
    return np.ascontiguousarray(view, dtype=np.float32)


@DATASETS.register_module()
class SyntheticDegradationDataset(Dataset):
    """Degraded views of clean photos, each labelled with its degradation.

    Sample ``i`` is drawn from ``numpy.random.default_rng([seed, i])``
    alone, so the data set is infinite in effect (``num_samples`` long),
    needs no files and is the same in every run and after a resume. A
    sample: a photo at a random scale, a random ``crop_size`` crop of it,
    one of ``tasks`` applied at that (native) scale with random parameters
    (the mini benchmark's generators: rain, haze, motion blur, low light;
    Gaussian noise with sigma drawn from ``noise_sigma``), quantised to 8
    bits like a saved image, then a random view (:func:`random_view`).

    Args:
        photos (Sequence[str]): scikit-image sample photo names. Default:
            the mini benchmark's training photos (never its test photos).
        tasks (Sequence[str]): Degradation classes, in label order.
            Default: denoise, derain, dehaze, deblur, lowlight.
        num_samples (int): Length. Default: 100000.
        seed (int): Seed of the draws. Default: 0.
        crop_size (int): Side of the clean crop that is degraded.
            Default: 96.
        view_size (int): Side of the returned views. Default: 64.
        view_scale (tuple[float, float]): Range of the view's crop side
            over ``view_size``. Default: (0.8, 1.25).
        photo_scale (tuple[float, float]): Range of the photo's scale
            relative to a short side of 192 pixels. Default: (0.6, 1.5).
        noise_sigma (tuple[float, float]): Range of the noise sigma, in
            [0, 255] units. Default: (10, 55).
        dead_leaves (int): Synthetic dead-leaves scenes
            (:func:`~sler_ir_mm.datasets.dead_leaves.dead_leaves_image`,
            seeds 0 .. n-1) drawn from as often as each photo, so that the
            content is not only a few photos'. Default: 0.
    """

    def __init__(self,
                 photos: Sequence[str] = TRAIN_PHOTOS,
                 tasks: Sequence[str] = TASKS,
                 num_samples: int = 100000,
                 seed: int = 0,
                 crop_size: int = 96,
                 view_size: int = 64,
                 view_scale: Sequence[float] = (0.8, 1.25),
                 photo_scale: Sequence[float] = (0.6, 1.5),
                 noise_sigma: Sequence[float] = (10.0, 55.0),
                 dead_leaves: int = 0) -> None:
        if isinstance(photos, str) or not photos:
            raise ValueError(f'photos must be a non-empty list of '
                             f'scikit-image photo names, got {photos!r}')
        unknown = [t for t in tasks if t != 'denoise'
                   and t not in DEGRADATIONS]
        if isinstance(tasks, str) or not tasks or unknown:
            raise ValueError(f'tasks must be a non-empty list of '
                             f'{("denoise", ) + tuple(DEGRADATIONS)}, got '
                             f'{tasks!r}')
        check_int('num_samples', num_samples)
        check_int('seed', seed, minimum=0)
        check_int('crop_size', crop_size, minimum=8)
        check_int('view_size', view_size, minimum=8)
        check_int('dead_leaves', dead_leaves, minimum=0)
        for name, rng in (('view_scale', view_scale),
                          ('photo_scale', photo_scale),
                          ('noise_sigma', noise_sigma)):
            if len(rng) != 2:
                raise ValueError(f'{name} must be (low, high), got {rng!r}')
            check_float_range(f'{name}[0]', rng[0], 0.0, float(rng[1]),
                              low_open=True)
        self.photos = tuple(photos)
        self.dead_leaves = dead_leaves
        # What a sample is cut from: the photos, then the synthetic scenes.
        self.sources = self.photos + tuple(
            f'dead_leaves_{i}' for i in range(dead_leaves))
        self.tasks = tuple(tasks)
        self.num_samples = num_samples
        self.seed = seed
        self.crop_size = crop_size
        self.view_size = view_size
        self.view_scale = tuple(float(v) for v in view_scale)
        self.photo_scale = tuple(float(v) for v in photo_scale)
        self.noise_sigma = tuple(float(v) for v in noise_sigma)
        self._images: Optional[Dict[str, np.ndarray]] = None

    def __len__(self) -> int:
        return self.num_samples

    @property
    def images(self) -> Dict[str, np.ndarray]:
        """The photos as float32 RGB in [0, 1], short side 192 (loaded on
        first use: workers load their own copy)."""
        if self._images is None:
            images = {}
            for name in self.photos:
                img = load_photo(name)
                h, w = img.shape[:2]
                scale = TRAIN_SHORT_SIDE / min(h, w)
                img = cv2.resize(img, (round(w * scale), round(h * scale)),
                                 interpolation=cv2.INTER_AREA)
                images[name] = img.astype(np.float32) / 255.0
            for i in range(self.dead_leaves):
                images[f'dead_leaves_{i}'] = dead_leaves_image(
                    i, size=(TRAIN_SHORT_SIDE, TRAIN_SHORT_SIDE * 3 // 2)
                ).astype(np.float32) / 255.0
            self._images = images
        return self._images

    def _clean_crop(self, rng: np.random.Generator) -> np.ndarray:
        img = self.images[self.sources[int(rng.integers(len(
            self.sources)))]]
        scale = float(rng.uniform(*self.photo_scale))
        h, w = img.shape[:2]
        size = (max(self.crop_size, round(w * scale)),
                max(self.crop_size, round(h * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA
                         if scale < 1 else cv2.INTER_LINEAR)
        top = int(rng.integers(0, img.shape[0] - self.crop_size + 1))
        left = int(rng.integers(0, img.shape[1] - self.crop_size + 1))
        return np.ascontiguousarray(
            img[top:top + self.crop_size, left:left + self.crop_size])

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, int]:
        """Returns:
            tuple: ``(view, label)``: a (3, view_size, view_size) float
            tensor in [0, 1] and the index of its task in ``tasks``.
        """
        if not 0 <= index < self.num_samples:
            raise IndexError(f'index {index} out of range for '
                             f'{self.num_samples} samples')
        rng = np.random.default_rng([self.seed, index])
        label = int(rng.integers(len(self.tasks)))
        task = self.tasks[label]
        clean = self._clean_crop(rng)
        if task == 'denoise':
            degraded = _add_noise(clean, rng, self.noise_sigma)
        else:
            degraded, _ = DEGRADATIONS[task](clean, rng)
        # Saved images are 8-bit: so are the views.
        degraded = np.round(np.clip(degraded, 0, 1) * 255.0) / 255.0
        view = random_view(degraded.astype(np.float32), rng, self.view_size,
                           self.view_scale)
        return torch.from_numpy(view).permute(2, 0, 1).contiguous(), label
