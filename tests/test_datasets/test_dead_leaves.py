"""Dead-leaves scenes and the pretraining data that draws from them."""
import numpy as np
import pytest
import torch

from sler_ir_mm.datasets import SyntheticDegradationDataset
from sler_ir_mm.datasets.dead_leaves import dead_leaves_image


def test_dead_leaves_is_seeded_rgb_and_not_flat():
    img = dead_leaves_image(3, size=(40, 60))
    assert img.shape == (40, 60, 3) and img.dtype == np.uint8
    assert np.array_equal(img, dead_leaves_image(3, size=(40, 60)))
    assert not np.array_equal(img, dead_leaves_image(4, size=(40, 60)))
    # Regions and edges: many colours, but far fewer than pixels.
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert 10 < colours < img.shape[0] * img.shape[1]


@pytest.mark.parametrize('kwargs, match', [
    (dict(seed=-1), 'seed'),
    (dict(size=(4, 40)), 'size'),
    (dict(radius=(8.0, 4.0)), 'radius'),
    (dict(num_discs=0), 'num_discs'),
])
def test_dead_leaves_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dead_leaves_image(**dict(dict(seed=0), **kwargs))


def test_pretraining_data_without_dead_leaves_is_unchanged():
    # dead_leaves=0 draws the same samples as before the option existed:
    # the cached mini tower's recipe still describes its data.
    kwargs = dict(photos=['camera', 'coins'], num_samples=20, crop_size=48,
                  view_size=32)
    plain = SyntheticDegradationDataset(**kwargs)
    zero = SyntheticDegradationDataset(dead_leaves=0, **kwargs)
    assert plain.sources == ('camera', 'coins')
    for i in (0, 5, 11):
        assert torch.equal(plain[i][0], zero[i][0])


def test_pretraining_data_draws_from_dead_leaves():
    data = SyntheticDegradationDataset(photos=['camera'], dead_leaves=2,
                                       num_samples=20, crop_size=48,
                                       view_size=32)
    assert data.sources == ('camera', 'dead_leaves_0', 'dead_leaves_1')
    assert set(data.images) == set(data.sources)
    assert data[3][0].shape == (3, 32, 32)
    with pytest.raises(ValueError, match='dead_leaves'):
        SyntheticDegradationDataset(dead_leaves=-1)
