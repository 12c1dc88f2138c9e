"""The leaf dataset configs of a config's dataloaders (wrappers opened,
factories such as MiniBenchmarkDataset kept whole)."""
import pytest

from sler_ir_mm.datasets.dataset_cfgs import (dataset_location, dataset_name,
                                              is_dataset_factory,
                                              iter_dataset_cfgs)


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


def test_a_dataset_factory_is_a_leaf():
    """MiniBenchmarkDataset builds its files, then returns its dataset: it
    is checked (built) whole, and named after the dataset it returns."""
    inner = dict(type='DegradationPairDataset', task_name='derain',
                 data_root='data/mini',
                 data_prefix=dict(img='Test/derain/input'))
    mini = dict(type='MiniBenchmarkDataset', dataset=inner)
    assert is_dataset_factory(mini)
    assert not is_dataset_factory(dict(type='RepeatDataset', dataset=inner))
    assert not is_dataset_factory(dict(type='NoSuchDataset'))
    cfg = dict(
        train_dataloader=dict(dataset=dict(
            type='ConcatDataset', datasets=[mini, dict(
                type='RepeatDataset', times=2, dataset=mini)])),
        test_dataloader=[dict(dataset=mini)])
    entries = list(iter_dataset_cfgs(cfg))
    assert [e.where for e in entries] == [
        'train_dataloader.dataset.datasets[0]',
        'train_dataloader.dataset.datasets[1].dataset',
        'test_dataloader[0].dataset',
    ]
    assert all(e.cfg['type'] == 'MiniBenchmarkDataset' for e in entries)
    assert {e.name for e in entries} == {'derain'}
    assert entries[0].location == 'data/mini: img=Test/derain/input'
