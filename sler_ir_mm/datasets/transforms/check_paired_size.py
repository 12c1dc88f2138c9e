"""Check the sizes of a degraded / clean image pair after loading."""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmagic.registry import TRANSFORMS

from sler_ir_mm.utils.arg_checks import check_int
from ..bad_samples import check_on_error, report_skipped


def _hw(value, key: str) -> Tuple[int, int]:
    # A list is a clip of frames (as PairedRandomCrop takes); its first
    # frame gives the size.
    frame = value[0] if isinstance(value, (list, tuple)) and value else value
    if not isinstance(frame, np.ndarray) or frame.ndim < 2:
        raise TypeError(f'CheckPairedSize: {key!r} must be an image array '
                        f'(load it first), got {type(frame).__name__}')
    return int(frame.shape[0]), int(frame.shape[1])


@TRANSFORMS.register_module()
class CheckPairedSize(BaseTransform):
    """Check that a loaded pair has matching sizes (and fits the crop).

    Placed right after the two loads, so that a bad pair is an error that
    names both files and their sizes, instead of MMagic's
    ``PairedRandomCrop`` message without file names (``Scale mismatches``)
    or, at test time, a metric's shape assertion after the model ran:

    - the clean image (``gt_key``) must be ``scale`` times the degraded
      one (``lq_key``), with ``scale`` from the data info (1, the same
      size, when absent);
    - with ``min_size``, the clean image must be at least ``min_size`` x
      ``min_size`` (and the degraded one ``min_size // scale``): set it to
      ``PairedRandomCrop``'s ``gt_patch_size`` in training. Test pipelines
      leave it None: the restorers pad, so any size restores.

    Required keys: ``lq_key``, ``gt_key`` (arrays, or lists of frames),
    ``<key>_path`` for the message. Nothing is modified.

    Args:
        min_size (int, optional): Smallest clean height and width (>= 1);
            None checks no minimum. Defaults to None.
        lq_key (str): The degraded image's key. Defaults to ``'img'``.
        gt_key (str): The clean image's key. Defaults to ``'gt'``.
        on_error (str): ``'raise'`` (default): a ``ValueError``.
            ``'skip'`` (training only): log it once and return None, so
            MMEngine's ``BaseDataset`` takes another sample (see
            :mod:`sler_ir_mm.datasets.bad_samples`).

    Example::

        dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
        dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
        dict(type='CheckPairedSize', min_size=128),
        dict(type='PairedRandomCrop', gt_patch_size=128),
    """

    def __init__(self,
                 min_size: Optional[int] = None,
                 lq_key: str = 'img',
                 gt_key: str = 'gt',
                 on_error: str = 'raise') -> None:
        if min_size is not None:
            check_int('CheckPairedSize min_size', min_size, minimum=1)
        for name, key in (('lq_key', lq_key), ('gt_key', gt_key)):
            if not isinstance(key, str) or not key:
                raise ValueError(f'CheckPairedSize {name} must be a '
                                 f'non-empty str, got {key!r}')
        check_on_error('CheckPairedSize', on_error)
        self.min_size = min_size
        self.lq_key = lq_key
        self.gt_key = gt_key
        self.on_error = on_error

    def _describe(self, results: dict, key: str, hw: Tuple[int, int]) -> str:
        path = results.get(f'{key}_path', '<no path>')
        return f'{key} {path} is {hw[0]}x{hw[1]} (HxW)'

    def _problem(self, results: dict) -> Optional[str]:
        for key in (self.lq_key, self.gt_key):
            if key not in results:
                raise KeyError(f'CheckPairedSize: no {key!r} in the results '
                               '(load it first)')
        lq_hw = _hw(results[self.lq_key], self.lq_key)
        gt_hw = _hw(results[self.gt_key], self.gt_key)
        scale = results.get('scale', 1) or 1
        same_file = results.get(f'{self.lq_key}_path') == \
            results.get(f'{self.gt_key}_path')
        lq = self._describe(results, self.lq_key, lq_hw)
        gt = self._describe(results, self.gt_key, gt_hw)
        if gt_hw != (int(lq_hw[0] * scale), int(lq_hw[1] * scale)):
            times = '' if scale == 1 else f' ({scale:g}x the degraded)'
            return (f'image pair of different sizes: {lq}, {gt}; the clean '
                    f'image must be the size of the degraded one{times}')
        if self.min_size is not None:
            lq_min = max(1, int(self.min_size // scale))
            if min(gt_hw) < self.min_size or min(lq_hw) < lq_min:
                files = gt if same_file else f'{lq}, {gt}'
                return (f'image smaller than the {self.min_size}x'
                        f'{self.min_size} training patch: {files}; remove '
                        'it, or lower the patch size (PairedRandomCrop '
                        'gt_patch_size and CheckPairedSize min_size)')
        return None

    def transform(self, results: dict) -> Optional[dict]:
        problem = self._problem(results)
        if problem is None:
            return results
        if self.on_error == 'skip':
            report_skipped(problem)
            return None
        raise ValueError(problem)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_size={self.min_size}, '
                f'lq_key={self.lq_key!r}, gt_key={self.gt_key!r}, '
                f'on_error={self.on_error!r})')
