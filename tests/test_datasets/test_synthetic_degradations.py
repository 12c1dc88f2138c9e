"""The seeded synthetic degradations of the mini benchmark."""
import numpy as np
import pytest

from sler_ir_mm.datasets.synthetic_degradations import (DEGRADATIONS,
                                                        add_haze, add_rain,
                                                        darken)


def clean_image(size=48):
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.2, 0.8, size, dtype=np.float32)
    img = np.stack([ramp[None, :].repeat(size, 0),
                    ramp[:, None].repeat(size, 1),
                    np.full((size, size), 0.5, np.float32)], axis=2)
    # Some texture, so that blur changes the image.
    return np.clip(img + 0.1 * rng.standard_normal(img.shape), 0,
                   1).astype(np.float32)


def psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a - b)**2))


@pytest.mark.parametrize('task', sorted(DEGRADATIONS))
def test_degrades_within_range_and_repeats(task):
    img = clean_image()
    out, params = DEGRADATIONS[task](img, np.random.default_rng(1))
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert 5 < psnr(out, img) < 32, task
    again, params2 = DEGRADATIONS[task](img, np.random.default_rng(1))
    assert np.array_equal(out, again) and params == params2
    other, _ = DEGRADATIONS[task](img, np.random.default_rng(2))
    assert not np.array_equal(out, other)


def test_each_degradation_has_its_signature():
    img = clean_image()
    rng = np.random.default_rng(3)
    hazy, p = add_haze(img, rng)
    assert 0.7 <= p['airlight'] <= 0.95
    # Haze lifts dark pixels and lowers contrast.
    assert hazy.min() > img.min() and hazy.std() < img.std()
    rainy, _ = add_rain(img, rng)
    assert (rainy >= img - 1e-6).all()  # streaks only add light
    dark, _ = darken(img, rng)
    assert dark.mean() < 0.35 * img.mean()


def test_wrong_input_is_an_error():
    with pytest.raises(ValueError, match='float32'):
        add_haze(np.zeros((8, 8, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError, match='H x W x 3'):
        darken(np.zeros((8, 8), np.float32), np.random.default_rng(0))
