"""Bad image files through the real 5-task pipelines
(configs/_base_/datasets/allinone_5task.py), and the skip-and-report
switch."""
import copy
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import DATASETS
from sler_ir_mm.apis import init_restorer
from sler_ir_mm.datasets import (UnreadableImageError, bad_samples,
                                 set_on_error)

BASE_CFG = osp.join('configs', '_base_', 'datasets', 'allinone_5task.py')
SIZE = 136  # a good image: just above the 128 x 128 training patch


@pytest.fixture(scope='module')
def cfg(repo_root):
    return Config.fromfile(osp.join(repo_root, BASE_CFG))


@pytest.fixture
def logged(monkeypatch):
    """What the skip switch logs, from a clean slate."""
    lines = []
    monkeypatch.setattr(bad_samples, '_reported', set())
    monkeypatch.setattr(bad_samples, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


def rand(shape, dtype=np.uint8, seed=0):
    top = 65536 if dtype == np.uint16 else 256
    return np.random.default_rng(seed).integers(0, top, shape, dtype)


def write(path, kind):
    """Write an image file of one bad kind (or a good one) at ``path``."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if kind == 'truncated':
        ok, data = cv2.imencode('.png', rand((SIZE, SIZE, 3)))
        data = data.tobytes()
        with open(path, 'wb') as f:
            f.write(data[:len(data) // 2])
    elif kind == 'zero_bytes':
        open(path, 'wb').close()
    elif kind == 'not_an_image':
        with open(path, 'w') as f:
            f.write('hello, not a PNG')
    else:
        shapes = {
            'good': (SIZE, SIZE, 3),
            '16bit': (SIZE, SIZE, 3),
            'gray': (SIZE, SIZE),
            'rgba': (SIZE, SIZE, 4),
            '1x1': (1, 1, 3),
            '7x5': (7, 5, 3),
            '32x2000': (32, 2000, 3),
            'narrow': (SIZE, SIZE - 1, 3),
        }
        dtype = np.uint16 if kind == '16bit' else np.uint8
        assert cv2.imwrite(path, rand(shapes[kind], dtype))
    return path


def pair_cfg(root, pipeline, test_mode, **kwargs):
    # serialize_data=False: MMEngine's serialization runs gc.collect(),
    # half a second per dataset.
    return dict(
        type='DegradationPairDataset',
        task_name='derain',
        degradation_label=1,
        data_root=str(root),
        data_prefix=dict(img='input', gt='target'),
        test_mode=test_mode,
        pipeline=copy.deepcopy(pipeline),
        serialize_data=False,
        **kwargs)


def one_pair(root, kind):
    """input/a.png of ``kind`` and its target: the same size for the size
    kinds, ``SIZE`` x ``SIZE`` otherwise ('narrow' is one column less)."""
    write(str(root / 'input' / 'a.png'), kind)
    same = kind in ('1x1', '7x5', '32x2000')
    write(str(root / 'target' / 'a.png'), kind if same else 'good')
    return str(root / 'input' / 'a.png'), str(root / 'target' / 'a.png')


UNREADABLE = {
    'truncated': r'not a decodable image \(\d+ bytes\): truncated, corrupt '
    'or not an image file',
    'zero_bytes': r'empty file \(0 bytes\)',
    'not_an_image': r'not a decodable image \(16 bytes\)',
}
TOO_SMALL = ('1x1', '7x5', '32x2000')


@pytest.mark.parametrize('split', ['train', 'test'])
@pytest.mark.parametrize(
    'kind', [*UNREADABLE, '16bit', 'gray', 'rgba', *TOO_SMALL, 'narrow'])
def test_each_kind_through_the_real_pipelines(cfg, tmp_path, kind, split):
    img_path, gt_path = one_pair(tmp_path, kind)
    ds = DATASETS.build(
        pair_cfg(tmp_path, cfg[f'{split}_pipeline'], split == 'test'))
    if kind in UNREADABLE:
        with pytest.raises(UnreadableImageError) as e:
            ds[0]
        assert str(e.value).startswith(
            f"cannot read image file {img_path} (key 'img'): ")
        assert e.match(UNREADABLE[kind])
    elif kind == 'narrow':  # LQ 136 x 135, GT 136 x 136
        with pytest.raises(ValueError) as e:
            ds[0]
        assert str(e.value) == (
            f'image pair of different sizes: img {img_path} is 136x135 '
            f'(HxW), gt {gt_path} is 136x136 (HxW); the clean image must '
            'be the size of the degraded one')
    elif kind in TOO_SMALL and split == 'train':
        h, w = (int(n) for n in kind.split('x'))
        with pytest.raises(ValueError) as e:
            ds[0]
        assert str(e.value) == (
            f'image smaller than the 128x128 training patch: img {img_path} '
            f'is {h}x{w} (HxW), gt {gt_path} is {h}x{w} (HxW); remove it, or '
            'lower the patch size (PairedRandomCrop gt_patch_size and '
            'CheckPairedSize min_size)')
    else:
        out = ds[0]
        # 8-bit RGB, 3 channels, whatever the file held.
        assert out['inputs'].dtype == torch.uint8
        hw = (128, 128) if split == 'train' else \
            cv2.imread(img_path, cv2.IMREAD_UNCHANGED).shape[:2]
        assert tuple(out['inputs'].shape) == (3, ) + tuple(hw)
        assert out['data_samples'].gt_img.shape == out['inputs'].shape


@pytest.mark.parametrize('kind', ['zero_bytes', '7x5', '16bit'])
def test_denoising_pipelines(cfg, tmp_path, kind):
    """The clean-image sets load one file as img and gt."""
    path = write(str(tmp_path / 'clean' / 'a.png'), kind)
    for split, sigma in (('train', None), ('test', 25)):
        ds = DATASETS.build(
            dict(
                type='CleanImageDataset',
                noise_sigma=sigma or 15,
                data_root=str(tmp_path),
                data_prefix=dict(gt='clean'),
                test_mode=split == 'test',
                serialize_data=False,
                pipeline=copy.deepcopy(cfg[f'{split}_noise_pipeline'])))
        if kind == 'zero_bytes':
            with pytest.raises(UnreadableImageError, match='empty file'):
                ds[0]
        elif kind == '7x5' and split == 'train':
            with pytest.raises(ValueError) as e:
                ds[0]
            assert f'gt {path} is 7x5 (HxW); remove it' in str(e.value)
            assert str(e.value).count(path) == 1
        else:
            assert ds[0]['inputs'].dtype == torch.uint8


def test_16bit_gray_rgba_load_exactly(cfg, tmp_path):
    """16 bit -> v >> 8 (exact for 257 * k), gray -> 3 equal channels,
    RGBA -> its RGB (alpha dropped)."""
    k = rand((SIZE, SIZE, 3), seed=1)
    files = {
        'deep': (k.astype(np.uint16) * 257, k[..., ::-1]),
        'gray': (k[..., 0], np.repeat(k[..., :1], 3, axis=2)),
        'rgba': (np.dstack([k, k[..., :1]]), k[..., ::-1]),
    }
    for name, (stored, _) in files.items():
        for sub in ('input', 'target'):
            os.makedirs(tmp_path / sub, exist_ok=True)
            cv2.imwrite(str(tmp_path / sub / f'{name}.png'), stored)
    ds = DATASETS.build(pair_cfg(tmp_path, cfg.test_pipeline, True))
    for i in range(len(ds)):
        out = ds[i]
        name = osp.splitext(
            osp.basename(out['data_samples'].metainfo['img_path']))[0]
        rgb = out['inputs'].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(rgb, files[name][1])


def test_any_size_restores_at_test_time(cfg, repo_root, tmp_path):
    torch.manual_seed(0)
    model = init_restorer(
        osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py'))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for kind in TOO_SMALL:
            root = tmp_path / kind
            one_pair(root, kind)
            ds = DATASETS.build(pair_cfg(root, cfg.test_pipeline, True))
            with torch.no_grad():
                out, = model.test_step(pseudo_collate([ds[0]]))
            h, w = (int(n) for n in kind.split('x'))
            assert tuple(out.output.pred_img.shape) == (3, h, w)
            assert torch.isfinite(out.output.pred_img).all()
    finally:
        torch.set_num_threads(threads)


def train_loader(root, pipeline, **kwargs):
    return dict(
        batch_size=2,
        dataset=dict(
            type='ConcatDataset',
            datasets=[
                dict(
                    type='RepeatDataset',
                    times=2,
                    dataset=pair_cfg(root, pipeline, False, **kwargs))
            ]))


@pytest.mark.parametrize('kind', ['zero_bytes', '7x5', 'narrow'])
def test_skip_trains_on_another_sample_and_logs_once(cfg, tmp_path, logged,
                                                     kind):
    bad, _ = one_pair(tmp_path, kind)
    for sub in ('input', 'target'):
        write(str(tmp_path / sub / 'b.png'), 'good')
    loader = train_loader(tmp_path, cfg.train_pipeline)
    skipping = set_on_error(loader, 'skip', 'train_dataloader')
    assert loader['dataset']['datasets'][0]['dataset']['pipeline'] == \
        cfg.train_pipeline  # the input is left alone
    ds = DATASETS.build(skipping['dataset'])
    for i in (0, 2):  # a.png and its repeat
        out = ds[i]
        assert out['data_samples'].metainfo['img_path'].endswith('b.png')
        assert tuple(out['inputs'].shape) == (3, 128, 128)
    assert len(logged) == 1
    assert logged[0].startswith(
        "skipping a training sample (on_error='skip'): ")
    assert bad in logged[0]


def test_skip_with_nothing_good_left(cfg, tmp_path, logged):
    one_pair(tmp_path, 'zero_bytes')
    loader = set_on_error(
        train_loader(tmp_path, cfg.train_pipeline, max_refetch=3), 'skip')
    ds = DATASETS.build(loader['dataset'])
    with pytest.raises(Exception, match='Cannot find valid image after 3'):
        ds[0]
    assert len(logged) == 1


def test_skip_is_refused_at_test_time(cfg, tmp_path):
    one_pair(tmp_path, 'good')
    test_set = pair_cfg(tmp_path, cfg.test_pipeline, True)
    with pytest.raises(ValueError, match="test_mode=True; on_error='skip'"):
        set_on_error(dict(dataset=test_set), 'skip', 'test_dataloader')
    test_set['pipeline'][0]['on_error'] = 'skip'
    with pytest.raises(ValueError) as e:
        DATASETS.build(test_set)
    assert str(e.value).startswith(
        "DegradationPairDataset 'derain': test_mode=True, but "
        "LoadImageFromFileChecked has on_error='skip'")
    clean_set = dict(
        type='CleanImageDataset',
        data_root=str(tmp_path),
        data_prefix=dict(gt='target'),
        test_mode=True,
        serialize_data=False,
        pipeline=[dict(type='CheckPairedSize', on_error='skip')])
    with pytest.raises(ValueError, match="CleanImageDataset 'denoise'"):
        DATASETS.build(clean_set)
    # raise is the default, and always allowed
    assert set_on_error(dict(dataset=test_set), 'raise')


def test_set_on_error_checks_its_arguments(cfg):
    with pytest.raises(ValueError, match='on_error must be one of'):
        set_on_error(dict(pipeline=cfg.train_pipeline), 'ignore')
    with pytest.raises(ValueError, match='has no LoadImageFromFileChecked'):
        set_on_error(
            dict(pipeline=[dict(type='LoadImageFromFile')]), 'skip',
            'my_loader')


def test_the_switch_in_a_config_file(repo_root, tmp_path):
    child = tmp_path / 'skip_bad.py'
    child.write_text(
        f'_base_ = {osp.join(repo_root, BASE_CFG)!r}\n'
        'from sler_ir_mm.datasets import set_on_error\n'
        "train_dataloader = set_on_error(_base_.train_dataloader, 'skip')\n"
        'del set_on_error\n')
    cfg = Config.fromfile(str(child))
    seen = []
    for wrapped in cfg.train_dataloader.dataset.datasets:
        for t in wrapped.get('dataset', wrapped).pipeline:
            if t.type in ('LoadImageFromFileChecked', 'CheckPairedSize'):
                seen.append(t.on_error)
    assert seen and set(seen) == {'skip'}
    assert len(cfg.train_dataloader.dataset.datasets) == 7
    for loader in cfg.test_dataloader:
        assert all('on_error' not in t for t in loader.dataset.pipeline)
