import zlib

import numpy as np
import pytest

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import TRANSFORMS
from sler_ir_mm.datasets import AddGaussianNoise, stable_hash


def results(value=128, size=32, path='data/test/bsd68/3096.jpg', dtype=None):
    img = np.full((size, size, 3), value, dtype or np.uint8)
    return dict(img=img, gt=img.copy(), img_path=path, gt_path=path)


def test_build_and_stable_hash():
    t = TRANSFORMS.build(dict(type='AddGaussianNoise', sigma=15, seed=3))
    assert isinstance(t, AddGaussianNoise) and t.seed == 3
    assert stable_hash('3096.jpg') == zlib.crc32(b'3096.jpg')
    assert 'sigma=15.0' in repr(t)


def test_train_noise_fresh_each_call_uint8_and_statistics():
    t = AddGaussianNoise(sigma=15)
    a, b = t(results(size=64)), t(results(size=64))
    assert a['img'].dtype == np.uint8 and a['img'].shape == (64, 64, 3)
    assert not np.array_equal(a['img'], b['img'])
    assert (a['gt'] == 128).all()  # only 'img' is noised
    noise = a['img'].astype(np.float64) - 128
    assert abs(noise.mean()) < 0.5 and abs(noise.std() - 15) < 1
    assert a['noise_sigma'] == 15.0
    # numpy's global RNG (which MMEngine seeds per worker) drives it
    np.random.seed(7)
    c = t(results())
    np.random.seed(7)
    assert np.array_equal(c['img'], t(results())['img'])


@pytest.mark.parametrize('value', [0, 255])
def test_clipped_not_wrapped(value):
    out = AddGaussianNoise(sigma=50)(results(value))['img']
    assert out.dtype == np.uint8
    # clipping keeps about half the pixels at the bound; uint8 wrap-around
    # would scatter them over the whole range
    assert (out == value).mean() > 0.4
    far = np.abs(out.astype(int) - value) > 200
    assert not far.any()


def test_seeded_noise_repeats_per_image_and_sigma():
    t1 = AddGaussianNoise(sigma=25, seed=0)
    t2 = AddGaussianNoise(sigma=25, seed=0)  # another instance, same noise
    a = t1(results())['img']
    assert np.array_equal(a, t2(results())['img'])
    assert np.array_equal(a, t1(results())['img'])
    # moving the data root keeps the noise (seeded by the file name)
    assert np.array_equal(a, t1(results(path='/elsewhere/3096.jpg'))['img'])
    others = [
        t1(results(path='data/test/bsd68/12084.jpg'))['img'],
        AddGaussianNoise(sigma=15, seed=0)(results())['img'],
        AddGaussianNoise(sigma=25, seed=1)(results())['img'],
    ]
    for other in others:
        assert not np.array_equal(a, other)
    # only the key is needed when there is no path
    r = dict(img=np.full((4, 4, 3), 9, np.uint8), key='k')
    assert np.array_equal(t1(dict(r))['img'], t2(dict(r))['img'])


def test_after_paired_random_crop():
    crop = TRANSFORMS.build(dict(type='PairedRandomCrop', gt_patch_size=8))
    r = results(size=32)
    r['scale'] = 1
    out = AddGaussianNoise(sigma=50)(crop(r))
    assert out['img'].shape == out['gt'].shape == (8, 8, 3)
    assert out['img'].dtype == np.uint8
    assert (out['gt'] == 128).all() and not (out['img'] == 128).all()


def test_quantize_round_vs_floor():
    r = AddGaussianNoise(sigma=10, seed=0)(results(size=64))['img']
    f = AddGaussianNoise(sigma=10, seed=0, quantize='floor')(
        results(size=64))['img']
    diff = r.astype(float) - f.astype(float)
    assert set(np.unique(diff)) <= {0.0, 1.0}
    assert 0.4 < diff.mean() < 0.6


def test_float_input_kept_float_and_clipped():
    out = AddGaussianNoise(sigma=50)(results(250, dtype=np.float32))['img']
    assert out.dtype == np.float32 and out.max() <= 255 and out.min() >= 0
    assert not np.allclose(out, np.round(out))  # not quantized


def test_sigma_from_data_info():
    r = results()
    r['noise_sigma'] = 25
    a = AddGaussianNoise(seed=0)(dict(r, img=r['img'].copy()))['img']
    b = AddGaussianNoise(sigma=25, seed=0)(results())['img']
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match='disagrees'):
        AddGaussianNoise(sigma=15)(dict(r))
    with pytest.raises(KeyError, match='no sigma'):
        AddGaussianNoise()(results())


def test_bad_arguments_and_inputs():
    for kwargs in (dict(sigma=-1), dict(sigma=300), dict(sigma=5, seed=-1),
                   dict(sigma=5, quantize='ceil'), dict(sigma=5, keys=[])):
        with pytest.raises(ValueError):
            AddGaussianNoise(**kwargs)
    with pytest.raises(KeyError, match="'lq'"):
        AddGaussianNoise(sigma=5, keys='lq')(results())
    with pytest.raises(TypeError, match='numpy array'):
        AddGaussianNoise(sigma=5)(dict(img=[1, 2]))
