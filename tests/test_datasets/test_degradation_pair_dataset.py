import os
import os.path as osp
import zlib

import cv2
import numpy as np
import pytest

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import DATASETS
from sler_ir_mm.datasets import (DegradationPairDataset, PROMPTIR_LAYOUT,
                                 UnreadableImageError)


def write_img(path, size=8, value=None):
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(zlib.crc32(osp.basename(path).encode()))
    img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8) \
        if value is None else np.full((size, size, 3), value, np.uint8)
    assert cv2.imwrite(path, img)
    return path


def rel(info, key, root):
    return osp.relpath(info[f'{key}_path'], root).replace(os.sep, '/')


def pipeline(loader='LoadImageFromFileChecked', crop=None):
    steps = [
        dict(type=loader, key='img', channel_order='rgb'),
        dict(type=loader, key='gt', channel_order='rgb'),
    ]
    if crop:
        steps.append(dict(type='PairedRandomCrop', gt_patch_size=crop))
    steps.append(
        dict(type='PackInputs', meta_keys=['degradation_label',
                                           'task_name']))
    return steps


@pytest.fixture
def rain_root(tmp_path):
    for n in (1, 2, 10):
        write_img(str(tmp_path / f'Train/Derain/rainy/rain-{n}.png'))
        write_img(str(tmp_path / f'Train/Derain/gt/norain-{n}.png'))
    return str(tmp_path)


def rain_dataset(root, **kwargs):
    return DegradationPairDataset(
        task_name='derain',
        degradation_label=1,
        gt_name='rain',
        data_root=root,
        data_prefix=dict(img='Train/Derain/rainy', gt='Train/Derain/gt'),
        **kwargs)


def test_rain_layout_pairs_labels_sorted(rain_root):
    ds = rain_dataset(rain_root)
    assert len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [i['key'] for i in infos] == ['rain-1', 'rain-10', 'rain-2']
    for info in infos:
        n = info['key'].split('-')[1]
        assert rel(info, 'img', rain_root) == \
            f'Train/Derain/rainy/rain-{n}.png'
        assert rel(info, 'gt', rain_root) == \
            f'Train/Derain/gt/norain-{n}.png'
        assert info['task_name'] == 'derain'
        assert info['degradation_label'] == 1
        assert info['scale'] == 1


def test_haze_layout_shared_clear_and_extensions(tmp_path):
    root = str(tmp_path)
    hazy = ['part1/0001_0.8_0.1.jpg', 'part1/0001_0.9_0.2.jpg',
            'part2/0002_1_0.04.jpg']
    for h in hazy:
        write_img(f'{root}/Train/Dehaze/synthetic/{h}')
    write_img(f'{root}/Train/Dehaze/original/0001.png')
    write_img(f'{root}/Train/Dehaze/original/0002.jpg')
    ds = DegradationPairDataset(
        task_name='dehaze', degradation_label=2, gt_name='haze',
        data_root=root, recursive=True,
        data_prefix=dict(img='Train/Dehaze/synthetic',
                         gt='Train/Dehaze/original'))
    pairs = {i['key']: rel(i, 'gt', root)
             for i in (ds.get_data_info(k) for k in range(len(ds)))}
    assert pairs == {
        'part1/0001_0.8_0.1': 'Train/Dehaze/original/0001.png',
        'part1/0001_0.9_0.2': 'Train/Dehaze/original/0001.png',
        'part2/0002_1_0.04': 'Train/Dehaze/original/0002.jpg',
    }

    # The same set through a PromptIR-style list relative to Train/Dehaze.
    ann = tmp_path / 'hazy.txt'
    ann.write_text('synthetic/part2/0002_1_0.04.jpg\n'
                   'synthetic/part1/0001_0.8_0.1.jpg\n')
    ds = DegradationPairDataset(
        task_name='dehaze', degradation_label=2, gt_name='haze',
        data_root=root, ann_file=str(ann),
        data_prefix=dict(img='Train/Dehaze', gt='Train/Dehaze/original'))
    assert [rel(ds.get_data_info(k), 'gt', root) for k in range(2)] == [
        'Train/Dehaze/original/0002.jpg', 'Train/Dehaze/original/0001.png']

    # SOTS outdoor test: flat .jpg hazy, .png clear.
    write_img(f'{root}/test/dehaze/input/0003_0.8_0.2.jpg')
    write_img(f'{root}/test/dehaze/target/0003.png')
    cfg = dict(PROMPTIR_LAYOUT['dehaze']['test']['sots_outdoor'])
    ds = DegradationPairDataset(task_name='dehaze', degradation_label=2,
                                data_root=root, test_mode=True, **cfg)
    assert rel(ds.get_data_info(0), 'gt', root) == \
        'test/dehaze/target/0003.png'


def test_same_layout_regex_and_ambiguous_extension(tmp_path):
    root = str(tmp_path)
    for name in ('a.png', 'b.png'):
        write_img(f'{root}/input/{name}')
        write_img(f'{root}/target/{name}')
    write_img(f'{root}/target/a.jpg')  # same stem, other extension
    ds = DegradationPairDataset(
        task_name='deblur', degradation_label=3, data_root=root,
        data_prefix=dict(img='input', gt='target'))
    assert [rel(ds.get_data_info(k), 'gt', root) for k in range(2)] == [
        'target/a.png', 'target/b.png']  # the degraded extension wins

    write_img(f'{root}/input/c.bmp')
    write_img(f'{root}/target/c.png')
    write_img(f'{root}/target/c.jpg')
    with pytest.raises(FileNotFoundError, match=r'c\.bmp -> several'):
        DegradationPairDataset(
            task_name='deblur', degradation_label=3, data_root=root,
            data_prefix=dict(img='input', gt='target'))

    write_img(f'{root}/blur/7_blur.png')
    write_img(f'{root}/sharp/7_sharp.png')
    ds = DegradationPairDataset(
        task_name='deblur', degradation_label=3, data_root=root,
        gt_name=(r'(\d+)_blur', r'\1_sharp'),
        data_prefix=dict(img='blur', gt='sharp'))
    assert rel(ds.get_data_info(0), 'gt', root) == 'sharp/7_sharp.png'


def test_missing_folders_are_named(tmp_path, rain_root):
    with pytest.raises(FileNotFoundError) as e:
        DegradationPairDataset(
            task_name='derain', degradation_label=1, data_root=rain_root,
            data_prefix=dict(img='Train/Derain/rainy', gt='Train/Derain/GT'))
    msg = str(e.value)
    assert "data_prefix['gt']" in msg
    assert osp.join(rain_root, 'Train/Derain/GT') in msg
    with pytest.raises(FileNotFoundError, match='data_root.*nowhere'):
        rain_dataset(str(tmp_path / 'nowhere'))


def test_missing_pairs_are_named(rain_root):
    os.remove(osp.join(rain_root, 'Train/Derain/gt/norain-2.png'))
    with pytest.raises(FileNotFoundError) as e:
        rain_dataset(rain_root)
    msg = str(e.value)
    assert '1 of 3' in msg and 'rain-2.png -> no clean image norain-2.*' in msg
    # More than five problems: five listed, the rest counted.
    for n in range(20, 27):
        write_img(osp.join(rain_root, f'Train/Derain/rainy/rain-{n}.png'))
    with pytest.raises(FileNotFoundError, match=r'(?s)8 of 10.*and 3 more'):
        rain_dataset(rain_root)


def test_name_not_matching_pattern_and_empty_folder(tmp_path, rain_root):
    write_img(osp.join(rain_root, 'Train/Derain/rainy/foo.png'))
    with pytest.raises(FileNotFoundError,
                       match='foo.png: name does not match'):
        rain_dataset(rain_root)
    os.makedirs(tmp_path / 'empty/input')
    os.makedirs(tmp_path / 'empty/target')
    with pytest.raises(FileNotFoundError, match='no degraded images'):
        DegradationPairDataset(
            task_name='deblur', degradation_label=3,
            data_root=str(tmp_path / 'empty'),
            data_prefix=dict(img='input', gt='target'))


def test_listed_file_missing(rain_root, tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('rain-1.png\nrain-99.png\n')
    with pytest.raises(FileNotFoundError, match='rain-99.png'):
        rain_dataset(rain_root, ann_file=str(ann))


def test_bad_arguments(rain_root):
    with pytest.raises(ValueError, match='gt_name'):
        DegradationPairDataset(task_name='x', degradation_label=0,
                               gt_name='snow', data_root=rain_root,
                               data_prefix=dict(img='a', gt='b'))
    with pytest.raises(ValueError, match='data_prefix'):
        DegradationPairDataset(task_name='x', degradation_label=0,
                               data_root=rain_root,
                               data_prefix=dict(img='a'))
    with pytest.raises(ValueError, match='degradation_label'):
        DegradationPairDataset(task_name='x', degradation_label=-1,
                               data_root=rain_root,
                               data_prefix=dict(img='a', gt='b'))
    with pytest.raises(ValueError, match='pattern'):
        DegradationPairDataset(task_name='x', degradation_label=0,
                               gt_name=('(', 'x'), data_root=rain_root,
                               data_prefix=dict(img='a', gt='b'))


def test_labels_reach_packed_samples_through_concat_and_repeat(tmp_path,
                                                               rain_root):
    root = str(tmp_path / 'low')
    for name in ('1.png', '2.png'):
        write_img(f'{root}/low/{name}', size=16)
        write_img(f'{root}/gt/{name}', size=16)
    ds = DATASETS.build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(type='RepeatDataset', times=2,
                     dataset=dict(
                         type='DegradationPairDataset', task_name='derain',
                         degradation_label=1, gt_name='rain',
                         data_root=rain_root,
                         data_prefix=dict(img='Train/Derain/rainy',
                                          gt='Train/Derain/gt'),
                         pipeline=pipeline(crop=4))),
                dict(type='DegradationPairDataset', task_name='lowlight',
                     degradation_label=4, data_root=root,
                     data_prefix=dict(img='low', gt='gt'),
                     pipeline=pipeline(loader='LoadImageFromFile', crop=4)),
            ]))
    assert len(ds) == 3 * 2 + 2
    seen = set()
    for i in range(len(ds)):
        out = ds[i]
        sample = out['data_samples']
        assert out['inputs'].shape == (3, 4, 4)
        assert sample.gt_img.shape == (3, 4, 4)
        seen.add((sample.metainfo['task_name'],
                  sample.metainfo['degradation_label']))
        assert osp.basename(sample.metainfo['gt_path']).lstrip('no') == \
            osp.basename(sample.metainfo['img_path'])
    assert seen == {('derain', 1), ('lowlight', 4)}


def test_pairs_load_the_right_pixels(tmp_path):
    root = str(tmp_path)
    for n, v in ((1, 10), (2, 200)):
        write_img(f'{root}/rainy/rain-{n}.png', value=v)
        write_img(f'{root}/gt/norain-{n}.png', value=v + 1)
    ds = DegradationPairDataset(
        task_name='derain', degradation_label=1, gt_name='rain',
        data_root=root, data_prefix=dict(img='rainy', gt='gt'),
        test_mode=True, pipeline=pipeline())
    for i, v in enumerate((10, 200)):
        out = ds[i]
        assert int(out['inputs'].max()) == v
        assert int(out['data_samples'].gt_img.max()) == v + 1


def test_corrupt_file_error_names_it(rain_root):
    bad = osp.join(rain_root, 'Train/Derain/gt/norain-2.png')
    with open(bad, 'wb') as f:
        f.write(b'not a png')
    ds = rain_dataset(rain_root, test_mode=True, pipeline=pipeline())
    ds[0]  # rain-1 is fine
    with pytest.raises(UnreadableImageError) as e:
        ds[2]  # rain-2 (sorted after rain-10)
    assert bad in str(e.value) and "'gt'" in str(e.value)


@pytest.mark.parametrize('channel_order', ['rgb', 'bgr'])
def test_loader_names_empty_and_missing_files(tmp_path, channel_order):
    from mmagic.registry import TRANSFORMS
    load = TRANSFORMS.build(dict(type='LoadImageFromFileChecked', key='img',
                                 channel_order=channel_order))
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    garbage = tmp_path / 'garbage.png'
    garbage.write_bytes(b'\x89PNG garbage')
    for path in (empty, garbage):
        with pytest.raises(UnreadableImageError, match=str(path)):
            load(dict(img_path=str(path)))
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load(dict(img_path=str(tmp_path / 'gone.png')))
    good = write_img(str(tmp_path / 'good.png'))
    out = load(dict(img_path=good))
    assert out['img'].shape == (8, 8, 3) and out['img'].dtype == np.uint8
