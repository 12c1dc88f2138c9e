"""RoutingStageSwitchHook in real MMEngine runs, including resumes."""
import os.path as osp

import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from mmengine.config import Config
from mmengine.runner import Runner

from sler_ir_mm.engine.hooks import RoutingStageSwitchHook


def dataset(root, label):
    return dict(
        type='BasicImageDataset',
        data_root=root,
        data_prefix=dict(img='noise/train/input', gt='noise/train/target'),
        pipeline=[
            dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
            dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
            dict(type='SetValues', dictionary=dict(degradation_label=label)),
            dict(type='PackInputs', meta_keys=['degradation_label']),
        ])


def make_cfg(root, work_dir, name, max_epochs=3, **hook):
    hook = hook or dict(switch_epoch=1, train_batch_size=4)
    return Config(
        dict(
            default_scope='mmagic',
            experiment_name=name,
            work_dir=work_dir,
            model=dict(
                type='SLERRestorer',
                generator=dict(
                    type='SLERNet',
                    dim=8,
                    num_blocks=(1, 1, 1, 1),
                    num_refinement_blocks=1,
                    heads=(1, 1, 2, 2),
                    num_experts=2),
                router=dict(type='SphericalRouter', embed_dim=8),
                degradation_encoder=dict(
                    type='ConvDegradationEncoder', channels=(8, ),
                    embed_dim=16),
                pixel_loss=dict(type='L1Loss'),
                contrastive_loss=dict(type='HypersphericalContrastiveLoss'),
                data_preprocessor=dict(
                    type='DataPreprocessor',
                    mean=[0., 0., 0.],
                    std=[255., 255., 255.])),
            train_dataloader=dict(
                batch_size=2,
                num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[dataset(root, 0),
                              dataset(root, 1)])),
            train_cfg=dict(
                type='EpochBasedTrainLoop', max_epochs=max_epochs),
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(type='Adam', lr=1e-3)),
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=1),
                logger=dict(type='LoggerHook', interval=1)),
            custom_hooks=[dict(type='RoutingStageSwitchHook', **hook)],
            randomness=dict(seed=0),
            log_level='WARNING'))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('switch')
    root = make_smoke_pairs(
        str(tmp / 'data'), ['noise'], num_train=4, size=16)
    full = Runner.from_cfg(make_cfg(root, str(tmp / 'full'), 'switch_full'))
    centers_at = {}

    class Spy(RoutingStageSwitchHook.__mro__[1]):  # a plain Hook
        def before_train(self, runner):
            centers_at['start'] = runner.model.router.centers.clone()

        def after_train_epoch(self, runner):
            centers_at[runner.epoch] = runner.model.router.centers.clone()

    full.register_hook(Spy())
    full.train()
    return dict(tmp=tmp, root=root, full=full, centers_at=centers_at)


def final_weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_switch_happens_at_the_configured_epoch(runs):
    full = runs['full']
    model = full.model
    assert model.stage == 2
    assert model.router.frozen
    assert not any(p.requires_grad for p in model.router.parameters())
    assert full.train_loop.dataloader.batch_size == 4
    # Centers move during stage 1 (epoch 0) and never in stage 2.
    centers = runs['centers_at']
    assert not torch.equal(centers['start'], centers[0])
    assert torch.equal(centers[0], centers[1])
    assert torch.equal(centers[1], centers[2])


@pytest.mark.parametrize('ckpt', ['epoch_1.pth', 'epoch_2.pth'])
def test_resume_from_either_stage_matches_uninterrupted(runs, ckpt):
    """epoch_1.pth: the last stage-1 checkpoint; epoch_2.pth: a stage-2 one."""
    tmp, root = runs['tmp'], runs['root']
    name = 'resume_' + ckpt.split('.')[0]
    cfg = make_cfg(root, str(tmp / name), name)
    cfg.resume = True
    cfg.load_from = osp.join(str(tmp / 'full'), ckpt)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.model.stage == 2 and runner.model.router.frozen
    assert runner.train_loop.dataloader.batch_size == 4
    expected = final_weights(runs['full'])
    got = final_weights(runner)
    for key, value in expected.items():
        assert torch.allclose(got[key], value, atol=1e-6), key


def test_iteration_based_switch(tmp_path):
    root = make_smoke_pairs(
        str(tmp_path / 'data'), ['noise'], num_train=4, size=16)
    cfg = make_cfg(root, str(tmp_path / 'iters'), 'switch_iter',
                   switch_iter=3, train_batch_size=4)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=5)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=5, by_epoch=False)
    runner = Runner.from_cfg(cfg)
    stages = {}

    class Spy(RoutingStageSwitchHook.__mro__[1]):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            stages[runner.iter] = runner.model.stage

    runner.register_hook(Spy())
    runner.train()
    assert stages == {0: 1, 1: 1, 2: 1, 3: 2, 4: 2}
    assert runner.train_loop.dataloader.batch_size == 4


def test_argument_checks():
    with pytest.raises(ValueError, match='exactly one'):
        RoutingStageSwitchHook()
    with pytest.raises(ValueError, match='exactly one'):
        RoutingStageSwitchHook(switch_epoch=1, switch_iter=10)
    with pytest.raises(ValueError, match='>= 0'):
        RoutingStageSwitchHook(switch_epoch=-1)
    with pytest.raises(ValueError, match='train_batch_size'):
        RoutingStageSwitchHook(switch_epoch=1, train_batch_size=0)


def test_wrong_loop_kind_is_a_clear_error(tmp_path):
    root = make_smoke_pairs(
        str(tmp_path / 'data'), ['noise'], num_train=2, size=16)
    cfg = make_cfg(root, str(tmp_path / 'bad'), 'switch_bad', switch_iter=2)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='switch_epoch'):
        runner.train()


def test_batch_size_only_switch_for_a_model_without_routing(tmp_path):
    root = make_smoke_pairs(
        str(tmp_path / 'data'), ['noise'], num_train=4, size=16)
    cfg = make_cfg(root, str(tmp_path / 'plain'), 'switch_plain',
                   max_epochs=2, switch_epoch=1, train_batch_size=4,
                   switch_model_stage=False)
    cfg.model = dict(
        type='BaseEditModel',
        generator=dict(
            type='Restormer', dim=8, num_blocks=(1, 1, 1, 1),
            num_refinement_blocks=1, heads=(1, 1, 2, 2)),
        pixel_loss=dict(type='L1Loss'),
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0., 0., 0.],
            std=[255., 255., 255.]))
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.train_loop.dataloader.batch_size == 4

    # With the stage switch on, a model without enter_stage2 is an error
    # that points at switch_model_stage.
    cfg.work_dir = str(tmp_path / 'plain_bad')
    cfg.experiment_name = 'switch_plain_bad'
    cfg.custom_hooks = [
        dict(type='RoutingStageSwitchHook', switch_epoch=1)]
    with pytest.raises(TypeError, match='switch_model_stage=False'):
        Runner.from_cfg(cfg).train()


def test_batch_size_only_switch_needs_a_batch_size():
    with pytest.raises(ValueError, match='give train_batch_size'):
        RoutingStageSwitchHook(switch_epoch=1, switch_model_stage=False)
