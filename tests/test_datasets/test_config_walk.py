"""walk_config: the one walk over a config's nested dicts that
set_data_root, set_on_error and iter_dataset_cfgs use."""
from mmengine.config import Config

from sler_ir_mm.datasets.config_walk import walk_config
from sler_ir_mm.datasets.dataset_cfgs import iter_dataset_cfgs


def make_cfg():
    leaf = dict(
        type='DegradationPairDataset',
        data_root='data',
        pipeline=[dict(type='LoadImageFromFileChecked', key='img')])
    return Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(type='RepeatDataset', times=2, dataset=leaf),
                        leaf,
                    ])),
            val_dataloader=[dict(dataset=dict(leaf, test_mode=True))]))


def test_every_dict_parents_first_in_config_order():
    cfg = make_cfg()
    paths = [
        item.path
        for item in walk_config(cfg.train_dataloader, 'train_dataloader')
    ]
    assert paths == [
        'train_dataloader',
        'train_dataloader.dataset',
        'train_dataloader.dataset.datasets[0]',
        'train_dataloader.dataset.datasets[0].dataset',
        'train_dataloader.dataset.datasets[0].dataset.pipeline[0]',
        'train_dataloader.dataset.datasets[1]',
        'train_dataloader.dataset.datasets[1].pipeline[0]',
    ]
    # A list at the top, and the dicts each one sits in.
    items = list(walk_config(cfg.val_dataloader, 'val_dataloader'))
    assert [i.path for i in items] == [
        'val_dataloader[0]', 'val_dataloader[0].dataset',
        'val_dataloader[0].dataset.pipeline[0]'
    ]
    assert [p.path for p in items[-1].parents
            ] == ['val_dataloader[0]', 'val_dataloader[0].dataset']
    assert items[-1].parents[-1].node['test_mode'] is True
    # Scalars, and tuples of dicts.
    assert list(walk_config(3)) == []
    assert [i.path for i in walk_config((dict(a=1), [dict()]))
            ] == ['cfg[0]', 'cfg[1][0]']


def test_the_yielded_dict_is_the_config_s():
    cfg = make_cfg()
    for item in walk_config(cfg.train_dataloader):
        if item.node.get('type') == 'LoadImageFromFileChecked':
            # Set before its values are walked: the walk goes on.
            item.node['on_error'] = 'skip'
    pipelines = [
        cfg.train_dataloader.dataset.datasets[0].dataset.pipeline[0],
        cfg.train_dataloader.dataset.datasets[1].pipeline[0]
    ]
    assert [p.on_error for p in pipelines] == ['skip', 'skip']


def test_keys_limit_the_walk():
    cfg = make_cfg()

    def wrapped(node):
        return [k for k in ('dataset', 'datasets') if k in node]

    paths = [
        i.path
        for i in walk_config(cfg.train_dataloader, 'loader', keys=wrapped)
    ]
    assert paths == [
        'loader', 'loader.dataset', 'loader.dataset.datasets[0]',
        'loader.dataset.datasets[0].dataset', 'loader.dataset.datasets[1]'
    ]
    # iter_dataset_cfgs walks so: the leaf datasets, not their pipelines.
    assert [(e.split, e.where) for e in iter_dataset_cfgs(cfg)] == [
        ('train', 'train_dataloader.dataset.datasets[0].dataset'),
        ('train', 'train_dataloader.dataset.datasets[1]'),
        ('val', 'val_dataloader[0].dataset'),
    ]
