"""``compose``: several degradations in the physical order of image
formation, the same bytes from the same generator."""
import numpy as np
import pytest

from sler_ir_mm.datasets.synthetic_degradations import (DEGRADATIONS,
                                                        PHYSICAL_ORDER,
                                                        compose)


def clean():
    return np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)


def test_applies_the_components_in_order():
    img, params = compose(clean(), ('derain', 'dehaze', 'lowlight'),
                          np.random.default_rng(3))
    # Same as applying them one after another with one generator.
    rng = np.random.default_rng(3)
    ref = clean()
    for task in ('derain', 'dehaze', 'lowlight'):
        ref, _ = DEGRADATIONS[task](ref, rng)
    assert np.array_equal(img, ref)
    assert {k.split('.')[0] for k in params} == {'derain', 'dehaze',
                                                 'lowlight'}
    assert img.dtype == np.float32 and 0 <= img.min() <= img.max() <= 1


def test_noise_is_last_and_seeded():
    a, params = compose(clean(), ('lowlight', 'denoise'),
                        np.random.default_rng(1))
    b, _ = compose(clean(), ('lowlight', 'denoise'), np.random.default_rng(1))
    assert np.array_equal(a, b)
    assert 10 <= params['denoise.sigma'] <= 25
    assert PHYSICAL_ORDER[-1] == 'denoise'


@pytest.mark.parametrize('tasks, match', [
    (('dehaze', 'derain'), 'physical order'),
    (('derain', ), 'two or more'),
    (('derain', 'derain'), 'two or more'),
    (('derain', 'snow'), 'unknown'),
])
def test_bad_composites_are_refused(tasks, match):
    with pytest.raises(ValueError, match=match):
        compose(clean(), tasks, np.random.default_rng(0))
