"""PSNR and SSIM as OneRestore scores CDD-11: on the saved 8-bit images,
with scikit-image."""
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmagic.evaluation.metrics.base_sample_wise_metric import \
    BaseSampleWiseMetric
from mmagic.evaluation.metrics.metrics_utils import obtain_data
from mmagic.registry import METRICS
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

__all__ = ['SkimagePSNRSSIM', 'to_uint8_hwc']

INPUT_ORDERS = ('CHW', 'HWC')


def to_uint8_hwc(img, input_order: str = 'CHW') -> np.ndarray:
    """An image in [0, 255] as the uint8 (H, W, C) array a saved PNG holds:
    clipped to [0, 255] and rounded to the nearest integer.

    Args:
        img (Tensor | np.ndarray): (C, H, W) or (H, W, C), or (H, W).
        input_order (str): 'CHW' or 'HWC'.
    """
    if input_order not in INPUT_ORDERS:
        raise ValueError(f'input_order must be one of {INPUT_ORDERS}, got '
                         f'{input_order!r}')
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().numpy()
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 2:
        img = img[..., None]
    elif img.ndim != 3:
        raise ValueError(f'an image must have 2 or 3 dimensions, got shape '
                         f'{img.shape}')
    elif input_order == 'CHW':
        img = img.transpose(1, 2, 0)
    return np.rint(np.clip(img, 0, 255)).astype(np.uint8)


@METRICS.register_module()
class SkimagePSNRSSIM(BaseSampleWiseMetric):
    """PSNR and SSIM of the 8-bit images, computed by scikit-image.

    OneRestore's CDD-11 protocol scores the restored images as saved
    (8-bit RGB PNGs) against the clear images, over the full image, with
    ``skimage.metrics.peak_signal_noise_ratio`` and
    ``structural_similarity`` at their defaults (uniform 7 x 7 window, the
    mean over the channels). This metric does the same on the model's
    output: output and ground truth are clipped to [0, 255] and rounded
    to uint8 (as saving a PNG does), then scored per image with
    ``data_range=255`` (``channel_axis=-1`` for SSIM); the set's score is
    the mean over its images. Unlike MMagic's ``PSNR`` / ``SSIM`` (float
    output, an 11 x 11 Gaussian window for SSIM), the scores are those of
    the saved files. Both images must be at least 7 x 7.

    Reports ``<prefix>/SkPSNR`` and ``<prefix>/SkSSIM``. A perfect output
    has an infinite PSNR, as with MMagic's ``PSNR``.

    Args:
        gt_key (str): Key of the ground truth. Default: 'gt_img'.
        pred_key (str): Key of the output. Default: 'pred_img'.
        input_order (str): 'CHW' (MMagic's data samples) or 'HWC'.
            Default: 'CHW'.
        collect_device (str): Device gathering results across ranks.
            Default: 'cpu'.
        prefix (str, optional): Name of the test set, put before the
            metric names.
    """

    metric = 'SkPSNR'
    metric_names = ('SkPSNR', 'SkSSIM')

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 input_order: str = 'CHW',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            gt_key=gt_key,
            pred_key=pred_key,
            mask_key=None,
            collect_device=collect_device,
            prefix=prefix)
        if input_order not in INPUT_ORDERS:
            raise ValueError(f'input_order must be one of {INPUT_ORDERS}, '
                             f'got {input_order!r}')
        self.input_order = input_order

    def score(self, gt, pred, name: str = 'image') -> Tuple[float, float]:
        """PSNR and SSIM of one image pair.

        Args:
            gt: The ground truth, in [0, 255].
            pred: The output, in [0, 255].
            name (str): The image, named in errors.
        """
        gt8 = to_uint8_hwc(gt, self.input_order)
        pred8 = to_uint8_hwc(pred, self.input_order)
        if gt8.shape != pred8.shape:
            raise ValueError(f'{name}: output shape {pred8.shape} differs '
                             f'from the ground truth\'s {gt8.shape} (HWC)')
        if min(gt8.shape[:2]) < 7:
            raise ValueError(f'{name}: SSIM\'s 7 x 7 window needs an image '
                             f'of at least 7 x 7, got {gt8.shape[:2]} (HW)')
        with warnings.catch_warnings():
            # An identical pair: PSNR is inf (division by a zero error).
            warnings.simplefilter('ignore', RuntimeWarning)
            psnr = peak_signal_noise_ratio(gt8, pred8, data_range=255)
        ssim = structural_similarity(
            gt8, pred8, channel_axis=-1, data_range=255)
        return float(psnr), float(ssim)

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Score each output of a batch against its ground truth.

        Args:
            data_batch (Sequence[dict]): The batch from the dataloader
                (not used).
            data_samples (Sequence[dict]): The model's data samples, each
                with the ground truth and an ``output``.
        """
        for data in data_samples:
            gt = obtain_data(data, self.gt_key, 'cpu')
            pred = obtain_data(data['output'], self.pred_key, 'cpu')
            name = str(data.get('gt_path', data.get('img_path', 'image')))
            pairs = [(gt, pred)] if gt.ndim <= 3 else list(zip(gt, pred))
            scores = [self.score(g, p, name) for g, p in pairs]
            self.results.append({
                'SkPSNR': float(np.mean([s[0] for s in scores])),
                'SkSSIM': float(np.mean([s[1] for s in scores])),
            })

    def compute_metrics(self, results: List[dict]) -> dict:
        """The mean of each score over the images.

        Args:
            results (list[dict]): One ``{SkPSNR, SkSSIM}`` per image.
        """
        return {
            name: float(np.mean([r[name] for r in results]))
            for name in self.metric_names
        }
