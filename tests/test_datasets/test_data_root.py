"""set_data_root rewrites the datasets; prepare_cpu_distributed."""
import pytest
from mmengine.config import Config

from sler_ir_mm.datasets import set_data_root
from sler_ir_mm.engine import prepare_cpu_distributed


def make_cfg():
    inner = dict(type='DegradationPairDataset', data_root='data')
    return Config(
        dict(
            data_root='data',
            train_dataloader=dict(dataset=dict(
                type='ConcatDataset',
                datasets=[
                    dict(type='RepeatDataset', times=3, dataset=inner),
                    dict(type='MiniBenchmarkDataset', dataset=inner),
                ])),
            val_dataloader=[dict(dataset=dict(inner)),
                            dict(dataset=dict(inner, data_root='other'))],
            test_dataloader=[dict(dataset=dict(inner))]))


def test_every_dataset_with_the_config_root_moves():
    cfg = make_cfg()
    changed = set_data_root(cfg, '/datasets/allinone')
    assert len(changed) == 4
    datasets = cfg.train_dataloader.dataset.datasets
    assert datasets[0].dataset.data_root == '/datasets/allinone'
    assert datasets[1].dataset.data_root == '/datasets/allinone'
    assert cfg.val_dataloader[0].dataset.data_root == '/datasets/allinone'
    # A dataset with its own root is left alone.
    assert cfg.val_dataloader[1].dataset.data_root == 'other'
    assert cfg.data_root == '/datasets/allinone'


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match='no top-level data_root'):
        set_data_root(Config(dict(train_dataloader={})), 'x')
    with pytest.raises(ValueError, match='no dataset'):
        set_data_root(Config(dict(data_root='d', train_dataloader={})), 'x')
    with pytest.raises(ValueError, match='non-empty'):
        set_data_root(make_cfg(), '')


def test_cpu_processes_get_gloo_and_no_device_ids(monkeypatch):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(
        launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl')),
        model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                               find_unused_parameters=True)))
    assert prepare_cpu_distributed(cfg, init_process_group=False)
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', find_unused_parameters=True,
        device_ids=None)
    plain = Config(dict(launcher='pytorch', model_wrapper_cfg=None))
    assert prepare_cpu_distributed(plain, init_process_group=False)
    assert plain.model_wrapper_cfg.device_ids is None
    single = Config(dict(launcher='none',
                         env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert not prepare_cpu_distributed(single, init_process_group=False)
    assert single.env_cfg.dist_cfg.backend == 'nccl'
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    gpu = Config(dict(launcher='pytorch',
                      env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert not prepare_cpu_distributed(gpu, init_process_group=False)
