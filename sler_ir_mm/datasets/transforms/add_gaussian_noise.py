"""Additive white Gaussian noise for the denoising task."""
import os.path as osp
import zlib
from typing import Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmagic.registry import TRANSFORMS

from sler_ir_mm.utils.arg_checks import check_float_range, check_int

_QUANTIZE_MODES = ('round', 'floor')


def stable_hash(text: str) -> int:
    """A hash of ``text`` that is the same in every process and run (unlike
    Python's salted ``hash``)."""
    return zlib.crc32(text.encode('utf-8'))


@TRANSFORMS.register_module()
class AddGaussianNoise(BaseTransform):
    """Add N(0, sigma^2) noise to images in [0, 255] units, clip to [0, 255].

    The denoising task of the all-in-one protocols (PromptIR / AirNet /
    AdaIR): the clean image is loaded as both ``img`` and ``gt`` and this
    transform degrades ``img``. Placed after ``PairedRandomCrop`` it noises
    the cropped training patch, as those papers do.

    The noise is computed in float32 and added to the image, the sum is
    clipped to [0, 255] and, for a uint8 image, rounded to the nearest
    integer (``quantize='round'``) and stored as uint8 again, so the output
    has the input's dtype and shape. PromptIR/AirNet/AdaIR truncate instead
    (``np.clip(...).astype(np.uint8)``, which shifts the mean down by about
    0.5); ``quantize='floor'`` reproduces that. A float image (loaded with
    ``to_float32=True``, values in [0, 255]) is clipped but not quantized.

    Two modes:

    - ``seed=None`` (training): fresh noise on every call from numpy's
      global RNG, which MMEngine seeds per dataloader worker.
    - ``seed=<int>`` (testing): the noise of an image depends only on
      ``seed``, the image's file name (the base name of ``<key>_path``, else
      the data info's ``key``), ``sigma`` and the image key, through
      ``np.random.default_rng([seed, crc32(file name), round(100 * sigma),
      crc32(key)])``. Two test runs, in any process, with any number of
      workers and in any order, see identical noisy images and therefore
      give identical scores. (The noise differs from the PromptIR/AdaIR
      test scripts', which draw from one sequentially seeded RNG.)

    Required keys: the ``keys`` (uint8 or float arrays, H x W or H x W x C);
    ``noise_sigma`` when ``sigma`` is None. Added keys: ``noise_sigma``.

    Args:
        sigma (float, optional): Standard deviation in [0, 255] units, in
            [0, 255]. None takes it from the data info's ``noise_sigma``
            (set by ``CleanImageDataset(noise_sigma=...)``); when both are
            given they must agree.
        keys (Sequence[str]): Images to degrade. Defaults to ``('img',)``.
        seed (int, optional): Test-mode seed (see above). None for
            training.
        quantize (str): ``'round'`` (default) or ``'floor'`` (PromptIR's
            truncation), for uint8 images.

    Example::

        # training, after PairedRandomCrop
        dict(type='AddGaussianNoise', sigma=25)
        # testing, CBSD68 at sigma 25: repeatable noise
        dict(type='AddGaussianNoise', sigma=25, seed=0)
    """

    def __init__(self,
                 sigma: Optional[float] = None,
                 keys: Union[str, Sequence[str]] = ('img', ),
                 seed: Optional[int] = None,
                 quantize: str = 'round') -> None:
        if sigma is not None:
            check_float_range('sigma', sigma, 0, 255)
        if isinstance(keys, str):
            keys = (keys, )
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f'keys must be a non-empty sequence of str, '
                             f'got {keys!r}')
        if seed is not None:
            check_int('seed', seed, minimum=0)
        if quantize not in _QUANTIZE_MODES:
            raise ValueError(f'quantize must be one of {_QUANTIZE_MODES}, '
                             f'got {quantize!r}')
        self.sigma = None if sigma is None else float(sigma)
        self.keys = tuple(keys)
        self.seed = seed
        self.quantize = quantize

    def _get_sigma(self, results: dict) -> float:
        info_sigma = results.get('noise_sigma')
        if self.sigma is None:
            if info_sigma is None:
                raise KeyError(
                    'AddGaussianNoise has no sigma: give sigma=... or a data '
                    'info with noise_sigma (CleanImageDataset(noise_sigma='
                    '...))')
            check_float_range('noise_sigma', info_sigma, 0, 255)
            return float(info_sigma)
        if info_sigma is not None and float(info_sigma) != self.sigma:
            raise ValueError(
                f'AddGaussianNoise(sigma={self.sigma:g}) disagrees with the '
                f"data info's noise_sigma={info_sigma:g} "
                f'({results.get("img_path", results.get("key"))})')
        return self.sigma

    def _test_rng(self, results: dict, key: str,
                  sigma: float) -> np.random.Generator:
        path = results.get(f'{key}_path') or results.get('img_path')
        if isinstance(path, str) and path:
            name = osp.basename(path)
        elif results.get('key') is not None:
            name = str(results['key'])
        else:
            raise KeyError(
                f'AddGaussianNoise(seed={self.seed}) seeds the noise by file '
                f"name: the results need '{key}_path', 'img_path' or 'key'")
        return np.random.default_rng([
            self.seed,
            stable_hash(name),
            int(round(sigma * 100)),
            stable_hash(key)
        ])

    def transform(self, results: dict) -> dict:
        sigma = self._get_sigma(results)
        for key in self.keys:
            if key not in results:
                raise KeyError(f'AddGaussianNoise: no {key!r} in the results '
                               '(load it first)')
            img = results[key]
            if not isinstance(img, np.ndarray):
                raise TypeError(f'AddGaussianNoise expects {key!r} to be a '
                                f'numpy array, got {type(img).__name__}')
            if self.seed is None:
                noise = np.random.standard_normal(img.shape).astype(
                    np.float32)
            else:
                rng = self._test_rng(results, key, sigma)
                noise = rng.standard_normal(img.shape, dtype=np.float32)
            noisy = img.astype(np.float32) + noise * np.float32(sigma)
            if img.dtype == np.uint8:
                noisy = np.rint(noisy) if self.quantize == 'round' \
                    else np.floor(noisy)
                results[key] = np.clip(noisy, 0, 255).astype(np.uint8)
            else:
                results[key] = np.clip(noisy, 0, 255).astype(np.float32)
        results['noise_sigma'] = sigma
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sigma={self.sigma}, '
                f'keys={self.keys}, seed={self.seed}, '
                f'quantize={self.quantize!r})')
