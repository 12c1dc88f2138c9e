import math
from types import SimpleNamespace

import pytest
import torch
from mmagic.evaluation import PSNR
from mmagic.evaluation.metrics.psnr import psnr
from mmagic.registry import METRICS, MODELS
from mmagic.structures import DataSample
from tiny_models import NET

from sler_ir_mm.evaluation import HarmRate


def flat(value: float, size: int = 4) -> torch.Tensor:
    return torch.full((3, size, size), float(value))


def sample(gt: float, degraded: float, output: float) -> dict:
    """A data sample as MMagic's Evaluator hands it to a metric."""
    return dict(gt_img=flat(gt), input=flat(degraded),
                output=dict(pred_img=flat(output)))


def db(mse: float) -> float:
    return 20 * math.log10(255 / math.sqrt(mse))


# Ground truth 100: the first output (120) is worse than its input (110),
# the second (99) better than its input (90).
HARMED, HELPED = sample(100, 110, 120), sample(100, 90, 99)


def evaluate(metric, samples) -> dict:
    metric.process(None, samples)
    metric.size = len(samples)  # what prepare() takes from the dataloader
    return metric.evaluate()


def test_a_harmed_and_a_helped_image():
    got = evaluate(HarmRate(prefix='Rain'), [HARMED, HELPED])
    out, inp = [db(400), db(1)], [db(100), db(100)]
    # The per-image output PSNRs are MMagic's PSNR metric's.
    mmagic_psnr = PSNR()
    mmagic_psnr.process(None, [HARMED, HELPED])
    assert [r['PSNR'] for r in mmagic_psnr.results] == pytest.approx(out)
    assert got == pytest.approx({
        'Rain/HarmRate': 0.5,
        'Rain/WorstLoss': db(100) - db(400),  # 6.02 dB lost
        'Rain/InputPSNR': db(100),
        'Rain/PSNR_SE': abs(out[0] - out[1]) / 2,  # sd |a-b|/sqrt2, n=2
        'Rain/N': 2,
    })
    assert inp[0] == pytest.approx(psnr(flat(100), flat(110), 0, 'CHW'))


def test_all_helped_worst_loss_is_negative_and_one_image_has_no_se():
    got = evaluate(HarmRate(), [HELPED])
    assert got['HarmRate'] == 0
    assert got['WorstLoss'] == pytest.approx(db(100) - db(1))  # -20 dB
    assert math.isnan(got['PSNR_SE']) and got['N'] == 1
    # Identical images (infinite PSNR) lose nothing.
    assert evaluate(HarmRate(), [sample(5, 5, 5)])['WorstLoss'] == 0


def test_results_are_per_image_for_gathering():
    metric = HarmRate()
    metric.process(None, [HARMED, HELPED])
    # Plain per-image values: the processes' lists join before
    # compute_metrics.
    assert len(metric.results) == 2
    assert metric.compute_metrics(metric.results[:1] +
                                  metric.results[1:])['N'] == 2


def test_arguments_and_missing_input_are_checked():
    assert isinstance(METRICS.build(dict(type='HarmRate')), HarmRate)
    with pytest.raises(ValueError, match='crop_border'):
        HarmRate(crop_border=-1)
    with pytest.raises(ValueError, match='input_order'):
        HarmRate(input_order='NCHW')
    with pytest.raises(ValueError, match='convert_to'):
        HarmRate(convert_to='YCbCr')
    with pytest.raises(ValueError, match='input_key'):
        HarmRate(input_key='')
    no_input = dict(HARMED)
    del no_input['input']
    with pytest.raises(ValueError, match="'input'"):
        HarmRate().process(None, [no_input])
    small = dict(HARMED, input=flat(110, size=2))
    with pytest.raises(ValueError, match='super-resolution'):
        HarmRate().process(None, [small])


PREPROCESSOR = dict(
    type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.])
TINY_SLER = dict(
    type='SLERRestorer',
    generator=NET,
    router=dict(type='SphericalRouter', embed_dim=16, temperature=0.1),
    degradation_encoder=dict(
        type='ConvDegradationEncoder', channels=(8, 16), embed_dim=32),
    pixel_loss=dict(type='L1Loss'),
    data_preprocessor=PREPROCESSOR)


def edit_model(generator: dict) -> dict:
    return dict(type='BaseEditModel', generator=generator,
                pixel_loss=dict(type='L1Loss'),
                data_preprocessor=PREPROCESSOR)


@pytest.mark.parametrize('model_cfg', [
    edit_model(dict(type='IdentityNet')),  # tools/test.py --degraded-inputs
    edit_model(dict(type='Restormer', dim=8, num_blocks=(1, 1, 1, 1),
                    num_refinement_blocks=1, heads=(1, 1, 2, 2))),
    TINY_SLER,
], ids=['degraded_inputs', 'restormer', 'sler_restorer'])
def test_with_models_through_the_evaluator(model_cfg):
    """The models' test step gives the metric the degraded input; the output
    PSNR agrees with MMagic's PSNR, the input PSNR with the input's."""
    from mmagic.evaluation import Evaluator
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).eval()
    gts = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    noisy = (gts.int() + torch.randint(-40, 41, gts.shape)).clamp(0, 255)
    noisy = noisy.to(torch.uint8)
    data = dict(inputs=list(noisy),
                data_samples=[DataSample(gt_img=g) for g in gts])
    with torch.no_grad():
        outputs = model.test_step(data)
    evaluator = Evaluator([dict(type='PSNR', prefix='set'),
                           dict(type='HarmRate', prefix='set')])
    evaluator.prepare_metrics(model, SimpleNamespace(dataset=[0, 1]))
    evaluator.process(outputs, data, evaluator.metrics)
    got = evaluator.evaluate()
    inp = [psnr(g.numpy(), n.numpy(), 0, 'CHW') for g, n in zip(gts, noisy)]
    out = [psnr(g.numpy(), o.output.pred_img.numpy(), 0, 'CHW')
           for g, o in zip(gts, outputs)]
    assert got['set/PSNR'] == pytest.approx(sum(out) / 2)
    assert got['set/InputPSNR'] == pytest.approx(sum(inp) / 2, abs=1e-3)
    assert got['set/N'] == 2
    if model_cfg['generator']['type'] == 'IdentityNet':
        assert got['set/PSNR'] == pytest.approx(got['set/InputPSNR'])
        assert got['set/HarmRate'] == 0 and got['set/WorstLoss'] == 0
    else:
        losses = [i - o for i, o in zip(inp, out)]
        assert got['set/WorstLoss'] == pytest.approx(max(losses), abs=1e-3)
        assert got['set/HarmRate'] == sum(x > 0 for x in losses) / 2
