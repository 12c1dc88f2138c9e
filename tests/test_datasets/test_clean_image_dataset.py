import os
import os.path as osp

import cv2
import numpy as np
import pytest

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from sler_ir_mm.datasets import CleanImageDataset


def write_img(path, size=16, value=128):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((size, size, 3), value, np.uint8))


@pytest.fixture
def root(tmp_path):
    for name in ('00001.bmp', '00002.bmp', 'a1.jpg'):
        write_img(str(tmp_path / 'Train/Denoise' / name))
    for name in ('3096.png', '12084.png'):
        write_img(str(tmp_path / 'test/denoise/bsd68' / name))
    return str(tmp_path)


def test_infos(root):
    ds = CleanImageDataset(data_root=root,
                           data_prefix=dict(gt='Train/Denoise'))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['key'] for i in infos] == ['00001', '00002', 'a1']
    for info in infos:
        assert info['img_path'] == info['gt_path']
        assert info['gt_path'].startswith(osp.join(root, 'Train/Denoise'))
        assert info['task_name'] == 'denoise'
        assert info['degradation_label'] == 0
        assert 'noise_sigma' not in info
    ds = CleanImageDataset(task_name='noise', degradation_label=2,
                           noise_sigma=25, data_root=root,
                           data_prefix=dict(gt='test/denoise/bsd68'))
    info = ds.get_data_info(0)
    assert (info['key'], info['task_name'], info['degradation_label'],
            info['noise_sigma']) == ('12084', 'noise', 2, 25.0)


def test_extra_folders_and_ann_file(root, tmp_path):
    for name in ('w1.bmp', 'w2.bmp'):
        write_img(osp.join(root, 'WED', name))
    ds = CleanImageDataset(data_root=root,
                           data_prefix=dict(gt='Train/Denoise'),
                           extra_gt_prefixes=['WED'])
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == \
        ['00001', '00002', 'a1', 'w1', 'w2']
    assert ds.get_data_info(4)['gt_path'] == osp.join(root, 'WED', 'w2.bmp')

    ann = tmp_path / 'denoise.txt'
    ann.write_text('w2.bmp\na1.jpg\n')
    ds = CleanImageDataset(data_root=root, ann_file=str(ann),
                           data_prefix=dict(gt='Train/Denoise'),
                           extra_gt_prefixes=['WED'])
    assert [ds.get_data_info(i)['gt_path'] for i in range(2)] == [
        osp.join(root, 'WED', 'w2.bmp'),
        osp.join(root, 'Train/Denoise', 'a1.jpg')]
    ann.write_text('w2.bmp\nmissing.png\n')
    with pytest.raises(FileNotFoundError, match='missing.png'):
        CleanImageDataset(data_root=root, ann_file=str(ann),
                          data_prefix=dict(gt='Train/Denoise'),
                          extra_gt_prefixes=['WED'])


def test_errors(root):
    with pytest.raises(FileNotFoundError) as e:
        CleanImageDataset(data_root=root, data_prefix=dict(gt='Train/Denoise'),
                          extra_gt_prefixes=['WED'])
    assert 'extra_gt_prefixes[0]' in str(e.value)
    assert osp.join(root, 'WED') in str(e.value)
    with pytest.raises(FileNotFoundError, match=r"data_prefix\['gt'\]"):
        CleanImageDataset(data_root=root, data_prefix=dict(gt='BSD400'))
    os.makedirs(osp.join(root, 'empty'))
    with pytest.raises(FileNotFoundError, match='empty'):
        CleanImageDataset(data_root=root, data_prefix=dict(gt='empty'))
    with pytest.raises(ValueError, match='data_prefix'):
        CleanImageDataset(data_root=root,
                          data_prefix=dict(img='a', gt='Train/Denoise'))
    with pytest.raises(ValueError, match='noise_sigma'):
        CleanImageDataset(data_root=root, noise_sigma=-1,
                          data_prefix=dict(gt='Train/Denoise'))


def pipeline(seed=None, crop=None):
    steps = [
        dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
        dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
    ]
    if crop:  # training: the noise goes on the cropped uint8 patch
        steps.append(dict(type='PairedRandomCrop', gt_patch_size=crop))
    steps.append(dict(type='AddGaussianNoise', seed=seed))
    steps.append(
        dict(type='PackInputs',
             meta_keys=['degradation_label', 'task_name', 'noise_sigma']))
    return steps


def test_seeded_test_noise_repeats(root):

    def noisy_set(sigma):
        ds = CleanImageDataset(noise_sigma=sigma, data_root=root,
                               data_prefix=dict(gt='test/denoise/bsd68'),
                               test_mode=True, pipeline=pipeline(seed=0))
        return [ds[i] for i in range(len(ds))]

    first, second, other_sigma = noisy_set(25), noisy_set(25), noisy_set(15)
    for a, b, c in zip(first, second, other_sigma):
        assert a['inputs'].dtype == b['inputs'].dtype
        assert np.array_equal(a['inputs'].numpy(), b['inputs'].numpy())
        assert not np.array_equal(a['inputs'].numpy(), c['inputs'].numpy())
        assert int((a['data_samples'].gt_img == 128).all())  # gt untouched
        meta = a['data_samples'].metainfo
        assert (meta['task_name'], meta['degradation_label'],
                meta['noise_sigma']) == ('denoise', 0, 25.0)
    # two images of the same content get different noise
    assert not np.array_equal(first[0]['inputs'].numpy(),
                              first[1]['inputs'].numpy())


def test_training_noise_on_cropped_patch(root):
    ds = CleanImageDataset(noise_sigma=50, data_root=root,
                           data_prefix=dict(gt='Train/Denoise'),
                           pipeline=pipeline(crop=8))
    a, b = ds[0], ds[0]
    assert a['inputs'].shape == (3, 8, 8)
    assert a['data_samples'].gt_img.shape == (3, 8, 8)
    assert not np.array_equal(a['inputs'].numpy(), b['inputs'].numpy())
    assert a['data_samples'].metainfo['noise_sigma'] == 50.0
