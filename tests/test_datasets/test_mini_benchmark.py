"""The embedded mini benchmark: deterministic build, layout, pairs, labels.
"""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmagic.registry import DATASETS

from sler_ir_mm.datasets import TASK_LABELS, build_mini_benchmark
from sler_ir_mm.datasets import mini_benchmark as mb
from sler_ir_mm.datasets import set_data_root


@pytest.fixture(scope='module')
def mini_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('mini') / 'sler_ir_mini5')
    return build_mini_benchmark(root)


@pytest.fixture(scope='module')
def mini_cfg(repo_root, mini_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'sler_ir_mini_5task.py'))
    set_data_root(cfg, mini_root)
    return cfg


def test_build_is_deterministic(mini_root, tmp_path):
    manifest = mb.read_manifest(mini_root)
    assert manifest['version'] == mb.BENCHMARK_VERSION
    again = build_mini_benchmark(str(tmp_path / 'again'))
    # The manifest holds every file's SHA-256: same hashes, same bytes.
    assert mb.read_manifest(again)['files'] == manifest['files']
    # Training: 16 clean + 4 x 48 pairs + 5 mixes x 48 pairs; test: 24
    # clean + (4 + 5) x 24 pairs; and the degradation parameters.
    assert len(manifest['files']) == (16 + 4 * 2 * 48 + 5 * 2 * 48 + 24 +
                                      9 * 2 * 24 + 1)
    assert not set(manifest['train_photos']) & set(manifest['test_photos'])
    assert len(manifest['test_photos']) >= 4


def test_existing_folder_is_never_overwritten(tmp_path):
    root = tmp_path / 'mine'
    root.mkdir()
    (root / 'photo.png').write_bytes(b'x')
    with pytest.raises(FileExistsError, match='not a mini benchmark'):
        build_mini_benchmark(str(root))
    assert (root / 'photo.png').read_bytes() == b'x'


def small_benchmark(monkeypatch):
    monkeypatch.setattr(mb, 'TRAIN_PHOTOS', ('astronaut', 'camera'))
    monkeypatch.setattr(mb, 'TEST_PHOTOS', ('chelsea', ))
    monkeypatch.setattr(mb, 'NUM_TRAIN', {t: 2 for t in mb.TASKS})
    monkeypatch.setattr(mb, 'TEST_GRID', (1, 1))


def test_dataset_wrapper_builds_once_when_missing(tmp_path, monkeypatch):
    small_benchmark(monkeypatch)
    root = str(tmp_path / 'built' / 'mini')
    cfg = dict(
        type='MiniBenchmarkDataset',
        dataset=dict(
            type='DegradationPairDataset', task_name='derain',
            degradation_label=1, gt_name='rain', data_root=root,
            data_prefix=dict(img='Train/Derain/rainy',
                             gt='Train/Derain/gt')))
    dataset = DATASETS.build(cfg)
    assert len(dataset) == 2 and type(dataset).__name__ == \
        'DegradationPairDataset'
    stamp = os.stat(osp.join(root, mb.MANIFEST)).st_mtime_ns
    DATASETS.build(cfg)
    assert os.stat(osp.join(root, mb.MANIFEST)).st_mtime_ns == stamp


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    small_benchmark(monkeypatch)

    def broken(root):
        os.makedirs(osp.join(root, 'Train'))
        raise RuntimeError('disk full')

    monkeypatch.setattr(mb, '_write_benchmark', broken)
    root = tmp_path / 'mini'
    with pytest.raises(RuntimeError, match='disk full'):
        build_mini_benchmark(str(root))
    assert not root.exists()
    assert [p.name for p in tmp_path.iterdir()] == ['mini.lock']


def build_all(cfg_list):
    return [DATASETS.build(c) for c in cfg_list]


def test_config_datasets_pairs_and_labels(mini_cfg, mini_root):
    train = build_all(mini_cfg.train_dataloader.dataset.datasets)
    sizes = {}
    for ds in train:
        sizes[ds.task_name] = sizes.get(ds.task_name, 0) + len(ds)
        for info in (ds.get_data_info(i) for i in range(len(ds))):
            assert info['degradation_label'] == TASK_LABELS[ds.task_name]
            lq = osp.splitext(osp.basename(info['img_path']))[0]
            gt = osp.splitext(osp.basename(info['gt_path']))[0]
            if ds.task_name == 'derain':
                assert gt == 'no' + lq
            elif ds.task_name == 'dehaze':
                assert lq.startswith(gt + '_')
            else:
                assert lq == gt
    # Each task brings 48 samples per epoch (denoising: 16 x 3 sigmas); the
    # singles-only protocol trains on no mix.
    assert sizes == dict(denoise=48, derain=48, dehaze=48, deblur=48,
                         lowlight=48)
    names = [e[0]['prefix'] for e in mini_cfg.test_evaluator]
    assert names == ['Noise-s25', 'Rain', 'Haze', 'Blur', 'LowLight',
                     'Rain+Haze', 'Rain+Blur', 'Haze+LowLight',
                     'LowLight+Noise', 'Rain+Haze+LowLight']
    assert all([m['type'] for m in e] == ['PSNR', 'SSIM', 'HarmRate']
               for e in mini_cfg.test_evaluator)
    tests = build_all([d.dataset for d in mini_cfg.test_dataloader])
    # 24 test images per set: 6 cells of each of 4 photos.
    assert [len(d) for d in tests] == [24] * 10
    assert [d.task_name for d in tests] == list(mb.TASKS)
    for ds in tests[5:]:
        assert ds.get_data_info(0)['degradation_label'] == \
            mb.MIX_LABELS[ds.task_name]


def test_degraded_test_inputs_and_repeatable_noise(mini_cfg):
    tests = build_all([d.dataset for d in mini_cfg.test_dataloader])
    for ds in tests:
        sample = ds[0]
        lq = sample['inputs'].numpy().astype(np.float64)
        gt = sample['data_samples'].gt_img.numpy().astype(np.float64)
        assert lq.shape == gt.shape == (3, mb.TEST_CROP, mb.TEST_CROP)
        mse = np.mean((lq - gt)**2)
        assert 10 * np.log10(255.0**2 / mse) < 32, ds.task_name
        assert sample['data_samples'].metainfo['degradation_label'] == \
            {**TASK_LABELS, **mb.MIX_LABELS}[ds.task_name]
    # Seeded test noise: a second pass gives the same noisy image.
    first = tests[0][1]['inputs']
    again = build_all([mini_cfg.test_dataloader[0].dataset])[0][1]['inputs']
    assert (first == again).all()


def test_training_samples_are_patches(mini_cfg):
    ds = build_all(mini_cfg.train_dataloader.dataset.datasets[:1])[0]
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 64)
    assert sample['data_samples'].metainfo['task_name'] == 'denoise'


def test_test_sets_share_their_clean_images(mini_root):
    """Every set holds the same 24 clean crops: sets differ only in their
    degradation."""
    def clean(folder):
        folder = osp.join(mini_root, folder)
        return {n: open(osp.join(folder, n), 'rb').read()
                for n in sorted(os.listdir(folder))}

    noise = clean('test/denoise/mini')
    assert len(noise) == 24
    for task in ('deblur', 'lowlight', 'derain+dehaze',
                 'derain+dehaze+lowlight'):
        gt = mb.MINI_LAYOUT[task]['test']['mini']['data_prefix']['gt']
        assert clean(gt) == noise, task


def test_mini_cdd_trains_on_singles_and_mixes(repo_root, mini_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'sler_ir_mini_cdd.py'))
    set_data_root(cfg, mini_root)
    train = build_all(cfg.train_dataloader.dataset.datasets)
    sizes = {}
    for ds in train:
        sizes[ds.task_name] = sizes.get(ds.task_name, 0) + len(ds)
        label = ds.get_data_info(0)['degradation_label']
        assert label == {**TASK_LABELS, **mb.MIX_LABELS}[ds.task_name]
    assert sizes == {task: 48 for task in mb.TASKS}
    # The same budget in iterations as the singles-only config.
    assert cfg.train_cfg.max_epochs == 11
