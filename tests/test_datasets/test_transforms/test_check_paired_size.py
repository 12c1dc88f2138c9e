import numpy as np
import pytest

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import TRANSFORMS
from sler_ir_mm.datasets import CheckPairedSize
from sler_ir_mm.datasets import bad_samples


def pair(lq_hw, gt_hw=None, same_file=False, **extra):
    gt_hw = lq_hw if gt_hw is None else gt_hw
    results = dict(
        img=np.zeros(lq_hw + (3, ), np.uint8),
        gt=np.zeros(gt_hw + (3, ), np.uint8),
        img_path='data/rainy/rain-1.png',
        gt_path='data/rainy/rain-1.png'
        if same_file else 'data/gt/norain-1.png',
        **extra)
    return results


@pytest.fixture
def logged(monkeypatch):
    """What report_skipped logs, from a clean slate."""
    lines = []
    monkeypatch.setattr(bad_samples, '_reported', set())
    monkeypatch.setattr(bad_samples, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


def test_build_and_pass_through():
    t = TRANSFORMS.build(dict(type='CheckPairedSize', min_size=8))
    assert isinstance(t, CheckPairedSize)
    results = pair((8, 20))
    assert t(results) is results
    assert CheckPairedSize()(pair((1, 1))) is not None  # test: any size
    # A x2 pair (scale from the data info), at the x2 minimum.
    assert CheckPairedSize(min_size=8)(pair((4, 4), (8, 8), scale=2))
    assert repr(t) == ("CheckPairedSize(min_size=8, lq_key='img', "
                       "gt_key='gt', on_error='raise')")


def test_different_sizes_name_both_files():
    with pytest.raises(ValueError) as e:
        CheckPairedSize()(pair((20, 20), (21, 20)))
    assert str(e.value) == (
        'image pair of different sizes: img data/rainy/rain-1.png is 20x20 '
        '(HxW), gt data/gt/norain-1.png is 21x20 (HxW); the clean image '
        'must be the size of the degraded one')
    with pytest.raises(ValueError, match=r'\(2x the degraded\)'):
        CheckPairedSize()(pair((4, 4), (8, 9), scale=2))


@pytest.mark.parametrize('hw', [(1, 1), (7, 5), (32, 2000), (127, 128)])
def test_smaller_than_the_patch(hw):
    with pytest.raises(ValueError) as e:
        CheckPairedSize(min_size=128)(pair(hw))
    msg = str(e.value)
    assert msg.startswith('image smaller than the 128x128 training patch: '
                          f'img data/rainy/rain-1.png is {hw[0]}x{hw[1]} '
                          f'(HxW), gt data/gt/norain-1.png is')
    assert 'PairedRandomCrop gt_patch_size and CheckPairedSize min_size' \
        in msg
    # A clean-only sample (denoising) names its one file once.
    with pytest.raises(ValueError) as e:
        CheckPairedSize(min_size=128)(pair(hw, same_file=True))
    assert str(e.value).count('rain-1.png') == 1
    assert CheckPairedSize(min_size=128)(pair((128, 300))) is not None


def test_skip_logs_each_problem_once(logged):
    t = CheckPairedSize(min_size=16, on_error='skip')
    assert t(pair((8, 8))) is None
    assert t(pair((8, 8))) is None
    assert t(pair((16, 16), (16, 17))) is None
    assert t(pair((16, 16))) is not None
    assert len(logged) == 2
    assert logged[0].startswith("skipping a training sample "
                                "(on_error='skip'): image smaller than")
    assert 'different sizes' in logged[1]
    assert bad_samples.reported_problems() == sorted(
        m.split(': ', 1)[1] for m in logged)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='min_size'):
        CheckPairedSize(min_size=0)
    with pytest.raises(ValueError, match='on_error'):
        CheckPairedSize(on_error='ignore')
    with pytest.raises(ValueError, match='gt_key'):
        CheckPairedSize(gt_key='')
    with pytest.raises(KeyError, match="no 'gt'"):
        CheckPairedSize()(dict(img=np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(TypeError, match='image array'):
        CheckPairedSize()(dict(img='x.png', gt=np.zeros((4, 4, 3))))
