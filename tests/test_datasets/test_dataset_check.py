import os
import os.path as osp

import cv2
import numpy as np
import pytest

from sler_ir_mm.datasets.dataset_check import (check_config_datasets,
                                            check_dataset_cfg,
                                            dataset_location, dataset_name,
                                            format_reports, iter_dataset_cfgs,
                                            patch_size_of)


def write_img(path, h=8, w=8):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((h, w, 3), 128, np.uint8))
    return path


@pytest.fixture
def pairs(tmp_path):
    """root/{input,target}/{0,1,2}.png, 8 x 8."""
    for i in range(3):
        for sub in ('input', 'target'):
            write_img(str(tmp_path / sub / f'{i}.png'))
    return str(tmp_path)


def basic_cfg(root, **kwargs):
    return dict(
        type='BasicImageDataset',
        metainfo=dict(dataset_type='smoke_noise', task_name='noise'),
        data_root=root,
        data_prefix=dict(img='input', gt='target'),
        pipeline=[],
        **kwargs)


def pair_cfg(root):
    return dict(
        type='DegradationPairDataset',
        task_name='derain',
        degradation_label=1,
        data_root=root,
        data_prefix=dict(img='input', gt='target'),
        pipeline=[])


def test_iter_dataset_cfgs_walks_wrappers_and_lists():
    leaf = dict(type='BasicImageDataset', metainfo=dict(task_name='a'))
    cfg = dict(
        train_dataloader=dict(dataset=dict(
            type='ConcatDataset',
            datasets=[
                dict(type='RepeatDataset', times=2, dataset=leaf),
                dict(type='ClassBalancedDataset', oversample_thr=0.1,
                     dataset=dict(leaf, metainfo=dict(task_name='b'))),
            ])),
        val_dataloader=[dict(dataset=leaf), dict(dataset=leaf)])
    entries = list(iter_dataset_cfgs(cfg))
    assert [(e.split, e.where) for e in entries] == [
        ('train', 'train_dataloader.dataset.datasets[0].dataset'),
        ('train', 'train_dataloader.dataset.datasets[1].dataset'),
        ('val', 'val_dataloader[0].dataset'),
        ('val', 'val_dataloader[1].dataset'),
    ]
    assert [e.name for e in entries] == ['a', 'b', 'a', 'a']
    assert [e.split for e in iter_dataset_cfgs(cfg, ['val'])] == ['val'] * 2
    with pytest.raises(ValueError, match='splits'):
        list(iter_dataset_cfgs(cfg, ['eval']))
    with pytest.raises(ValueError, match='val_dataloader\\[0\\]'):
        list(iter_dataset_cfgs(dict(val_dataloader=[dict(batch_size=1)])))
    # A wrapper's inner dataset that is no config is named where it sits.
    bad = dict(train_dataloader=dict(dataset=dict(
        type='ConcatDataset', datasets=[leaf, 'b.py'])))
    with pytest.raises(TypeError, match=r'train_dataloader\.dataset\.'
                       r'datasets\[1\] must be a dataset config dict'):
        list(iter_dataset_cfgs(bad))
    with pytest.raises(TypeError, match='train_dataloader.dataset must be'):
        list(iter_dataset_cfgs(dict(train_dataloader=dict(dataset=[leaf]))))


def test_name_and_location():
    cfg = dict(type='CleanImageDataset', task_name='denoise', noise_sigma=25,
               data_root='data', data_prefix=dict(gt='test/bsd68'),
               extra_gt_prefixes=['WED'])
    assert dataset_name(cfg) == 'denoise (sigma 25)'
    assert dataset_location(cfg) == 'data: gt=test/bsd68, gt+=WED'
    assert dataset_name(dict(type='BasicImageDataset')) == \
        'BasicImageDataset'


def test_clean_dataset_has_no_problems(pairs):
    report = check_dataset_cfg(basic_cfg(pairs), 'val', 'val_dataloader')
    assert report.ok and report.num_samples == 3
    assert report.name == 'noise'
    assert report.location == f'{pairs}: img=input, gt=target'


def test_file_problems_are_named(pairs):
    os.remove(osp.join(pairs, 'target', '0.png'))
    with open(osp.join(pairs, 'input', '1.png'), 'r+b') as f:
        f.truncate(40)
    open(osp.join(pairs, 'target', '2.png'), 'wb').close()
    report = check_dataset_cfg(basic_cfg(pairs), num_workers=2)
    assert report.num_problems == 3
    by_file = {osp.basename(osp.dirname(p.path)) + '/' +
               osp.basename(p.path): p.reason for p in report.problems}
    assert by_file['target/0.png'].startswith('file not found: no clean '
                                              'image for')
    assert 'input/0.png' in by_file['target/0.png']
    assert by_file['input/1.png'].startswith('cannot decode')
    assert by_file['target/2.png'].startswith('empty file (0 bytes)')
    # Without decoding only the missing and the empty file are found.
    fast = check_dataset_cfg(basic_cfg(pairs), decode=False)
    assert sorted(osp.basename(p.path) for p in fast.problems) == \
        ['0.png', '2.png']


def test_size_mismatch(pairs):
    write_img(osp.join(pairs, 'target', '1.png'), h=6)
    report = check_dataset_cfg(basic_cfg(pairs))
    problem, = report.problems
    assert problem.path == osp.join(pairs, 'target', '1.png')
    assert 'size mismatch: clean image is 6x8' in problem.reason
    assert 'is 8x8' in problem.reason


def test_build_errors_are_reported(pairs, tmp_path):
    # Our datasets list the unpaired names when built.
    os.remove(osp.join(pairs, 'target', '1.png'))
    report = check_dataset_cfg(pair_cfg(pairs))
    assert not report.ok and report.num_samples == 0
    assert 'FileNotFoundError' in report.build_error
    assert '1.png -> no clean image 1.*' in report.build_error
    # A missing folder: the error gives its path.
    missing = check_dataset_cfg(basic_cfg(str(tmp_path / 'nowhere')))
    assert str(tmp_path / 'nowhere' / 'input') in missing.build_error
    # An empty folder builds an empty BasicImageDataset: a problem too.
    os.makedirs(tmp_path / 'empty' / 'input')
    empty = check_dataset_cfg(basic_cfg(str(tmp_path / 'empty')))
    assert empty.num_samples == 0
    assert 'no samples' in empty.problems[0].reason
    with pytest.raises(ValueError, match='dataset config'):
        check_dataset_cfg(dict(data_root=pairs))


def test_clean_image_dataset_name_from_class_default(pairs):
    cfg = dict(type='CleanImageDataset', data_root=pairs,
               data_prefix=dict(gt='target'), pipeline=[])
    report = check_dataset_cfg(cfg)
    assert report.ok and report.num_samples == 3
    assert report.name == 'denoise'


def test_config_check_dedupes_and_formats(pairs):
    os.remove(osp.join(pairs, 'target', '0.png'))
    val = [dict(dataset=basic_cfg(pairs))]
    cfg = dict(val_dataloader=val, test_dataloader=val)
    reports = check_config_datasets(cfg, num_workers=1)
    assert [r.split for r in reports] == ['val', 'test']
    assert reports[1].same_as == 'val_dataloader[0].dataset'
    assert reports[1].num_problems == reports[0].num_problems == 1
    text = format_reports(reports)
    assert 'val: 1 dataset(s)' in text and 'test: 1 dataset(s)' in text
    # The problem is listed once, under the first dataset.
    assert text.count(osp.join(pairs, 'target', '0.png')) == 1
    assert text.splitlines()[-1] == '1 problem(s) in 2 of 2 dataset(s)'


def test_images_smaller_than_the_training_patch(pairs):
    for sub in ('input', 'target'):
        write_img(osp.join(pairs, sub, '2.png'), h=6)
    train = [dict(type='CheckPairedSize', min_size=4),
             dict(type='PairedRandomCrop', gt_patch_size=8)]
    assert patch_size_of(dict(pipeline=train)) == \
        (8, 'PairedRandomCrop gt_patch_size')
    report = check_dataset_cfg(dict(basic_cfg(pairs), pipeline=train))
    problem, = report.problems
    assert problem.path == osp.join(pairs, 'input', '2.png')
    assert problem.reason == (
        '6x8 (HxW) is smaller than the 8x8 training patch (PairedRandomCrop '
        f'gt_patch_size=8); its clean image is '
        f'{osp.join(pairs, "target", "2.png")}')
    # A test pipeline (no crop) takes any size.
    assert check_dataset_cfg(basic_cfg(pairs)).ok
    # A clean-image set names its one file.
    clean = dict(type='CleanImageDataset', data_root=pairs,
                 data_prefix=dict(gt='target'),
                 pipeline=[dict(type='mmagic.CheckPairedSize', min_size=7)])
    problem, = check_dataset_cfg(clean).problems
    assert problem.path == osp.join(pairs, 'target', '2.png')
    assert problem.reason == ('6x8 (HxW) is smaller than the 7x7 training '
                              'patch (CheckPairedSize min_size=7)')
    assert patch_size_of(dict(pipeline=[dict(type='PackInputs')])) is None
