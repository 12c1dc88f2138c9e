"""CDD-11's layout, labels and pairing, and its config on a tiny tree."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from make_cdd11_tree import make_cdd11_tree
from mmengine.config import Config
from mmagic.registry import DATASETS, METRICS

from sler_ir_mm.datasets import PROMPTIR_LAYOUT, set_data_root
from sler_ir_mm.datasets.cdd11 import (CDD11_LABELS, CDD11_LAYOUT,
                                       CDD11_SET_NAMES, CDD11_TASK_NAMES,
                                       CDD11_TASKS, CDD11_TYPES,
                                       cdd11_task_name)
from sler_ir_mm.datasets.protocols import test_sets as make_test_sets
from sler_ir_mm.datasets.protocols import train_datasets

PAIR = [dict(type='PackInputs', meta_keys=['degradation_label',
                                           'task_name'])]
LOAD = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
] + PAIR
# OneRestore's order of the 11 types.
ONERESTORE_ORDER = [
    'low', 'haze', 'rain', 'snow', 'low_haze', 'low_rain', 'low_snow',
    'haze_rain', 'haze_snow', 'low_haze_rain', 'low_haze_snow'
]


def test_types_labels_and_task_names():
    assert list(CDD11_TYPES) == ONERESTORE_ORDER
    assert [CDD11_LABELS[t] for t in ONERESTORE_ORDER] == list(range(11))
    assert CDD11_TASK_NAMES['low_haze_rain'] == 'low+haze+rain'
    assert CDD11_TASK_NAMES['snow'] == 'snow'
    assert CDD11_TASKS[4] == 'low+haze'
    # The components of a task are its '+'-separated parts.
    assert [len(t.split('+')) for t in CDD11_TASKS] == [1] * 4 + [2] * 5 + \
        [3] * 2
    assert CDD11_SET_NAMES == {t: t for t in ONERESTORE_ORDER}
    with pytest.raises(ValueError, match="got 'fog'"):
        cdd11_task_name('fog')


def test_layout_has_the_promptir_layout_shape():
    assert list(CDD11_LAYOUT) == list(CDD11_TASKS)
    for task, entry in CDD11_LAYOUT.items():
        assert set(entry) == set(PROMPTIR_LAYOUT['derain'])
        folder = task.replace('+', '_')
        assert entry['degradation_label'] == CDD11_LABELS[folder]
        assert entry['train'] == dict(
            data_prefix=dict(img=f'CDD-11_train/{folder}',
                             gt='CDD-11_train/clear'),
            gt_name='same')
        assert entry['test'] == {
            folder: dict(
                data_prefix=dict(img=f'CDD-11_test/{folder}',
                                 gt='CDD-11_test/clear'),
                gt_name='same')
        }


def test_protocol_functions_give_the_dataset_configs():
    train = train_datasets(CDD11_TASKS, 'data', PAIR, PAIR,
                           layout=CDD11_LAYOUT)
    assert [d['task_name'] for d in train] == list(CDD11_TASKS)
    assert [d['degradation_label'] for d in train] == list(range(11))
    assert all('times' not in d and not d['test_mode'] for d in train)
    sets = make_test_sets(CDD11_TASKS, 'data', PAIR, PAIR,
                          layout=CDD11_LAYOUT, names=CDD11_SET_NAMES)
    assert [name for name, _ in sets] == ONERESTORE_ORDER
    name, low_haze = sets[4]
    assert (name, low_haze['task_name'], low_haze['degradation_label']) == \
        ('low_haze', 'low+haze', 4)
    assert low_haze['data_prefix']['img'] == 'CDD-11_test/low_haze'
    assert low_haze['test_mode']


def build(ds_cfg):
    # No serialisation: its gc.collect costs 0.3 s per dataset in a test
    # process.
    return DATASETS.build(dict(ds_cfg, serialize_data=False))


def build_test_set(root, folder, pipeline=LOAD):
    task = CDD11_TASK_NAMES[folder]
    entry = CDD11_LAYOUT[task]
    return build(
        dict(type=entry['type'], task_name=task,
             degradation_label=entry['degradation_label'],
             data_root=str(root), test_mode=True, pipeline=pipeline,
             **entry['test'][folder]))


def test_pairs_by_file_name(tmp_path):
    make_cdd11_tree(str(tmp_path), num_images=2, types=['low_haze_rain'])
    dataset = build_test_set(tmp_path, 'low_haze_rain')
    assert len(dataset) == 2
    info = dataset.get_data_info(1)
    assert info['img_path'] == osp.join(
        str(tmp_path), 'CDD-11_test', 'low_haze_rain', '000002.png')
    assert info['gt_path'] == osp.join(str(tmp_path), 'CDD-11_test',
                                       'clear', '000002.png')
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (3, 32, 32)
    meta = sample['data_samples'].metainfo
    assert (meta['task_name'], meta['degradation_label']) == \
        ('low+haze+rain', 9)


def test_a_missing_type_folder_is_named(tmp_path):
    make_cdd11_tree(str(tmp_path), num_images=1, types=['low', 'haze'])
    shutil.rmtree(tmp_path / 'CDD-11_test' / 'haze')
    with pytest.raises(FileNotFoundError) as err:
        build_test_set(tmp_path, 'haze')
    message = str(err.value)
    assert "data_prefix['img'] folder not found" in message
    assert osp.join('CDD-11_test', 'haze') in message
    # The other types still build.
    assert len(build_test_set(tmp_path, 'low')) == 1


def test_an_unpaired_file_is_named(tmp_path):
    make_cdd11_tree(str(tmp_path), num_images=2, types=['snow'])
    os.remove(tmp_path / 'CDD-11_test' / 'clear' / '000002.png')
    cv2.imwrite(str(tmp_path / 'CDD-11_test' / 'snow' / 'extra.png'),
                np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(FileNotFoundError) as err:
        build_test_set(tmp_path, 'snow')
    message = str(err.value)
    assert "task 'snow': 2 of 3 degraded images" in message
    assert '000002.png -> no clean image 000002.*' in message
    assert 'extra.png -> no clean image extra.*' in message
    assert osp.join('CDD-11_test', 'clear') in message


def test_the_configs_build_their_datasets(repo_root, tmp_path):
    # Training images as large as the config's 128 x 128 patch.
    make_cdd11_tree(str(tmp_path), num_images=1, size=32, train_size=128)
    cfg = Config.fromfile(osp.join(repo_root, 'configs/sler_ir_cdd11.py'))
    baseline = Config.fromfile(
        osp.join(repo_root, 'configs/restormer/restormer_cdd11.py'))
    for key in ('train_dataloader', 'test_dataloader', 'test_evaluator'):
        assert cfg[key] == baseline[key]
    set_data_root(cfg, str(tmp_path))
    train = cfg.train_dataloader.dataset.datasets
    assert len(train) == 11
    for k, ds_cfg in enumerate(train):
        dataset = build(ds_cfg)
        assert len(dataset) == 1
        if k in (0, 10):  # a single and a triple mix through the pipeline
            sample = dataset[0]
            assert tuple(sample['inputs'].shape) == (3, 128, 128)
            meta = sample['data_samples'].metainfo
            assert meta['degradation_label'] == k
            assert meta['task_name'] == CDD11_TASKS[k]
    assert len(cfg.test_dataloader) == 11
    for folder, loader in zip(ONERESTORE_ORDER, cfg.test_dataloader):
        dataset = build(loader.dataset)
        assert dataset.task_name == CDD11_TASK_NAMES[folder]
        assert dataset[0]['data_samples'].gt_img is not None
    assert cfg.test_dataloader == cfg.val_dataloader
    # One evaluator list per type, named by the type.
    for folder, evaluators in zip(ONERESTORE_ORDER, cfg.test_evaluator):
        assert [m.type for m in evaluators] == [
            'PSNR', 'SSIM', 'SkimagePSNRSSIM', 'HarmRate']
        assert {m.prefix for m in evaluators} == {folder}
    for metric in cfg.test_evaluator[0]:
        METRICS.build(metric)
