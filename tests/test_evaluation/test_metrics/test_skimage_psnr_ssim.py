"""SkimagePSNRSSIM scores the 8-bit images as scikit-image does."""
import numpy as np
import pytest
import torch
from mmagic.registry import METRICS, MODELS
from mmengine.dataset import pseudo_collate
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sler_ir_mm.evaluation.metrics import SkimagePSNRSSIM
from sler_ir_mm.evaluation.metrics.skimage_psnr_ssim import to_uint8_hwc


def by_hand(gt_hwc: np.ndarray, pred_hwc: np.ndarray):
    """What OneRestore's scoring computes on two saved uint8 images."""
    return (peak_signal_noise_ratio(gt_hwc, pred_hwc, data_range=255),
            structural_similarity(gt_hwc, pred_hwc, channel_axis=-1,
                                  data_range=255))


def sample(gt_hwc, pred_hwc_float):
    """A data sample as the test loop hands it to metrics (CHW tensors in
    [0, 255])."""
    return dict(
        gt_img=torch.from_numpy(np.ascontiguousarray(
            gt_hwc.transpose(2, 0, 1))).float(),
        output=dict(pred_img=torch.from_numpy(np.ascontiguousarray(
            pred_hwc_float.transpose(2, 0, 1))).float()),
        gt_path=f'clear/{len(gt_hwc)}.png')


def evaluate(metric, samples):
    metric.process(None, samples)
    metric.size = len(samples)
    return metric.evaluate()


def test_to_uint8_rounds_and_clips_as_a_saved_png():
    img = np.array([[[-3.0, 1.4, 1.6], [254.6, 300.0, 127.5]]])  # HWC
    out = to_uint8_hwc(img, 'HWC')
    assert out.dtype == np.uint8
    assert out.tolist() == [[[0, 1, 2], [255, 255, 128]]]
    chw = torch.from_numpy(img.transpose(2, 0, 1).copy())
    assert np.array_equal(to_uint8_hwc(chw, 'CHW'), out)
    assert to_uint8_hwc(np.ones((4, 5)), 'CHW').shape == (4, 5, 1)
    with pytest.raises(ValueError, match="input_order must be one of"):
        to_uint8_hwc(img, 'NCHW')


def test_matches_skimage_by_hand():
    rng = np.random.default_rng(0)
    samples, expected = [], []
    for size in (16, 20):
        gt = rng.integers(0, 256, (size, size + 3, 3), np.uint8)
        pred = gt + rng.normal(0, 12, gt.shape)  # float, outside [0, 255]
        samples.append(sample(gt, pred))
        saved = np.rint(np.clip(pred, 0, 255)).astype(np.uint8)
        expected.append(by_hand(gt, saved))
    metric = METRICS.build(dict(type='SkimagePSNRSSIM', prefix='low_haze'))
    assert isinstance(metric, SkimagePSNRSSIM)
    scores = evaluate(metric, samples)
    assert set(scores) == {'low_haze/SkPSNR', 'low_haze/SkSSIM'}
    # The mean over the images of the per-image scores.
    assert scores['low_haze/SkPSNR'] == pytest.approx(
        np.mean([e[0] for e in expected]), abs=1e-10)
    assert scores['low_haze/SkSSIM'] == pytest.approx(
        np.mean([e[1] for e in expected]), abs=1e-10)
    assert 10 < scores['low_haze/SkPSNR'] < 40
    assert 0 < scores['low_haze/SkSSIM'] < 1


def test_the_saved_image_is_scored_not_the_float_one():
    gt = np.random.default_rng(1).integers(0, 255, (12, 12, 3), np.uint8)
    # Off by 0.4 everywhere: lost when saved as 8-bit.
    scores = evaluate(SkimagePSNRSSIM(prefix='rain'),
                      [sample(gt, gt + 0.4)])
    assert scores['rain/SkPSNR'] == float('inf')
    assert scores['rain/SkSSIM'] == pytest.approx(1.0)
    # MMagic's PSNR sees the float error.
    psnr = METRICS.build(dict(type='PSNR', prefix='rain'))
    assert evaluate(psnr, [sample(gt, gt + 0.4)])['rain/PSNR'] == \
        pytest.approx(20 * np.log10(255 / 0.4), rel=1e-4)


def test_frames_are_averaged():
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 256, (2, 3, 10, 10), np.uint8)  # (T, C, H, W)
    pred = np.clip(gt + rng.normal(0, 8, gt.shape), 0, 255)
    data = dict(gt_img=torch.from_numpy(gt).float(),
                output=dict(pred_img=torch.from_numpy(pred).float()))
    metric = SkimagePSNRSSIM()
    metric.process(None, [data])
    frames = [by_hand(gt[t].transpose(1, 2, 0),
                      np.rint(pred[t]).astype(np.uint8).transpose(1, 2, 0))
              for t in range(2)]
    assert metric.results[0]['SkPSNR'] == pytest.approx(
        np.mean([f[0] for f in frames]))
    assert metric.results[0]['SkSSIM'] == pytest.approx(
        np.mean([f[1] for f in frames]))


def test_the_test_step_output_of_a_model():
    """gt and output as MMagic's BaseEditModel gives them: IdentityNet
    'restores' to the input, so the scores are the input's."""
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 256, (3, 16, 16), np.uint8)
    degraded = np.clip(gt + rng.normal(0, 10, gt.shape), 0, 255).astype(
        np.uint8)
    from mmagic.structures import DataSample
    data_sample = DataSample(gt_img=torch.from_numpy(gt.copy()))
    batch = pseudo_collate([dict(inputs=torch.from_numpy(degraded.copy()),
                                 data_samples=data_sample)])
    model = MODELS.build(
        dict(type='BaseEditModel', generator=dict(type='IdentityNet'),
             pixel_loss=dict(type='L1Loss'),
             data_preprocessor=dict(type='DataPreprocessor',
                                    mean=[0., 0., 0.],
                                    std=[255., 255., 255.])))
    outputs = model.test_step(batch)
    scores = evaluate(SkimagePSNRSSIM(prefix='snow'),
                      [o.to_dict() for o in outputs])
    psnr, ssim = by_hand(gt.transpose(1, 2, 0), degraded.transpose(1, 2, 0))
    assert scores['snow/SkPSNR'] == pytest.approx(psnr, abs=1e-6)
    assert scores['snow/SkSSIM'] == pytest.approx(ssim, abs=1e-6)


def test_errors_name_the_problem():
    gt = np.zeros((8, 8, 3), np.uint8)
    metric = SkimagePSNRSSIM()
    with pytest.raises(ValueError, match=r'clear/8.png: output shape'):
        metric.process(None, [sample(gt, np.zeros((8, 9, 3)))])
    with pytest.raises(ValueError, match=r'7 x 7 window'):
        metric.process(None, [sample(gt[:6], gt[:6] + 1.0)])
    with pytest.raises(ValueError, match='input_order must be one of'):
        SkimagePSNRSSIM(input_order='chw')
