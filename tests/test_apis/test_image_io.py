"""Images taken apart for the model and put back (sler_ir_mm.apis.image_io)
."""
import numpy as np
import pytest

from sler_ir_mm.apis.image_io import (check_channel_order, join_image,
                                      split_image)


@pytest.mark.parametrize('shape', [(5, 7), (5, 7, 1), (5, 7, 2), (5, 7, 3),
                                   (5, 7, 4)])
def test_split_then_join_gives_the_image_back(shape):
    img = np.random.default_rng(0).integers(0, 256, shape, np.uint8)
    split = split_image(img, 'rgb', 'x')
    assert split.color.shape == (5, 7, 3) and split.color.dtype == np.float32
    np.testing.assert_array_equal(join_image(split.color, split, 'rgb'), img)


def test_16_bit_and_bgr():
    img = np.random.default_rng(1).integers(0, 256, (4, 6, 4), np.uint8)
    split = split_image(img.astype(np.uint16) * 257, 'bgr', 'x')
    np.testing.assert_allclose(split.color, img[..., 2::-1])
    np.testing.assert_array_equal(split.alpha, img[..., 3])
    np.testing.assert_array_equal(join_image(split.color, split, 'bgr'), img)


def test_bad_channel_order():
    check_channel_order('bgr')
    with pytest.raises(ValueError, match='channel_order'):
        check_channel_order('rgba')
