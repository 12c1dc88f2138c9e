"""How often a restorer makes an image worse than its degraded input."""
import math
from typing import List, Optional, Sequence

import numpy as np
from mmagic.evaluation.metrics.base_sample_wise_metric import \
    BaseSampleWiseMetric
from mmagic.evaluation.metrics.metrics_utils import obtain_data
from mmagic.evaluation.metrics.psnr import psnr
from mmagic.registry import METRICS

_INPUT_ORDERS = ('CHW', 'HWC')


@METRICS.register_module()
class HarmRate(BaseSampleWiseMetric):
    """Harm rate: the share of images whose output is further from the
    ground truth than the degraded input was.

    Per image it computes PSNR(output, gt) and PSNR(degraded input, gt) with
    MMagic's ``psnr`` and the arguments of MMagic's ``PSNR`` metric, so the
    output PSNR equals that metric's per-image value. An average hides a
    restorer that improves most images and ruins a few; this metric shows
    them. The degraded input is the one the model saw, as
    ``BaseEditModel.convert_to_datasample`` stores it in each data sample
    (de-normalised to [0, 255]); with ``tools/test.py --degraded-inputs``
    the output is that input, so no image is harmed.

    Per-image values are kept in ``self.results``, so a distributed run
    gathers all images before the statistics are taken.

    Args:
        gt_key (str): Key of the ground truth in a data sample.
            Default: 'gt_img'.
        pred_key (str): Key of the prediction in a data sample's output.
            Default: 'pred_img'.
        input_key (str): Key of the degraded input in a data sample.
            Default: 'input'.
        crop_border (int): Pixels cropped at each edge before comparing, as
            in MMagic's PSNR. Default: 0.
        input_order (str): 'CHW' or 'HWC', as in MMagic's PSNR.
            Default: 'CHW'.
        convert_to (str, optional): 'Y' to compare the Y channel, None for
            the images as they are, as in MMagic's PSNR. Default: None.
        collect_device (str): Device used to collect the results of several
            processes: 'cpu' or 'gpu'. Default: 'cpu'.
        prefix (str, optional): Prefix of the reported names, the test set's
            name. Default: None.

    Metrics:
        - HarmRate (float): share of images with output PSNR below input
          PSNR.
        - WorstLoss (float): largest input PSNR - output PSNR over the
          images (dB); negative when every image improved.
        - InputPSNR (float): mean PSNR of the degraded inputs.
        - PSNR_SE (float): standard error of the mean output PSNR (sample
          standard deviation / sqrt(n)); NaN for fewer than 2 images.
        - N (int): number of images.
    """

    metric = 'HarmRate'

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 input_key: str = 'input',
                 crop_border: int = 0,
                 input_order: str = 'CHW',
                 convert_to: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        for name, key in (('gt_key', gt_key), ('pred_key', pred_key),
                          ('input_key', input_key)):
            if not isinstance(key, str) or not key:
                raise ValueError(
                    f'HarmRate: {name} must be a non-empty string, got '
                    f'{key!r}')
        if (not isinstance(crop_border, int) or isinstance(crop_border, bool)
                or crop_border < 0):
            raise ValueError('HarmRate: crop_border must be an integer >= 0, '
                             f'got {crop_border!r}')
        if input_order not in _INPUT_ORDERS:
            raise ValueError(f'HarmRate: input_order must be one of '
                             f'{_INPUT_ORDERS}, got {input_order!r}')
        if convert_to is not None and str(convert_to).lower() != 'y':
            raise ValueError("HarmRate: convert_to must be 'Y' or None, got "
                             f'{convert_to!r}')
        super().__init__(
            gt_key=gt_key,
            pred_key=pred_key,
            collect_device=collect_device,
            prefix=prefix)
        self.input_key = input_key
        self.crop_border = crop_border
        self.input_order = input_order
        self.convert_to = convert_to

    def _psnr(self, gt, img) -> float:
        """PSNR as MMagic's PSNR metric computes it (frames averaged)."""
        if gt.shape != img.shape:
            raise ValueError(
                'HarmRate compares the degraded input and the output with '
                'the ground truth, so all must have one size; got '
                f'{tuple(img.shape)} against the ground truth\'s '
                f'{tuple(gt.shape)} (HarmRate is not for super-resolution)')
        if gt.ndim <= 3:
            return float(
                psnr(gt, img, self.crop_border, self.input_order,
                     self.convert_to, self.channel_order))
        return float(
            np.mean([self._psnr(gt[i], img[i]) for i in range(gt.shape[0])]))

    def process(self, data_batch: Optional[Sequence[dict]],
                data_samples: Sequence[dict]) -> None:
        """Keep the output and input PSNR of each image of a batch.

        Args:
            data_batch (Sequence[dict], optional): The batch from the
                dataloader (not used: its inputs are not yet in the data
                samples' channel order).
            data_samples (Sequence[dict]): The model's data samples as dicts,
                with the ground truth, the degraded input and ``output``.
        """
        for sample in data_samples:
            for key in (self.gt_key, self.input_key):
                if key not in sample:
                    raise ValueError(
                        f'HarmRate needs {key!r} in each data sample (the '
                        'ground truth, and the degraded input that '
                        "MMagic's BaseEditModel stores as 'input'); this "
                        f'one has {sorted(sample)}')
            gt = obtain_data(sample, self.gt_key, self.device)
            pred = obtain_data(sample['output'], self.pred_key, self.device)
            degraded = obtain_data(sample, self.input_key, self.device)
            self.results.append(
                dict(
                    output_psnr=self._psnr(gt, pred),
                    input_psnr=self._psnr(gt, degraded)))

    def compute_metrics(self, results: List[dict]) -> dict:
        """The set's statistics from the per-image PSNRs of all processes.

        Args:
            results (List[dict]): ``output_psnr`` and ``input_psnr`` per
                image.

        Returns:
            dict: HarmRate, WorstLoss, InputPSNR, PSNR_SE and N.
        """
        num = len(results)
        if num == 0:
            nan = float('nan')
            return dict(HarmRate=nan, WorstLoss=nan, InputPSNR=nan,
                        PSNR_SE=nan, N=0)
        out = np.array([r['output_psnr'] for r in results], dtype=np.float64)
        inp = np.array([r['input_psnr'] for r in results], dtype=np.float64)
        # Equal PSNRs lose nothing, also two infinite ones (identical images).
        with np.errstate(invalid='ignore'):
            loss = np.where(out == inp, 0.0, inp - out)
        se = (float(out.std(ddof=1)) / math.sqrt(num)
              if num > 1 else float('nan'))
        return dict(
            HarmRate=float((out < inp).mean()),
            WorstLoss=float(loss.max()),
            InputPSNR=float(inp.mean()),
            PSNR_SE=se,
            N=num)
