"""The stage epochs of every shipped config, set in one way
(sler_ir_mm/engine/schedules.py), and rewritten in one way."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from sler_ir_mm.engine.schedules import (StageScheduleError, read_stage_epochs,
                                         set_stage_epochs, two_stage_schedule,
                                         with_stage_epochs)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def schedule(stage1, stage2, batch2, val_interval=None, **switch):
    """The schedule keys the configs had when each wrote them out."""
    total = stage1 + stage2
    return dict(
        train_cfg=dict(
            type='EpochBasedTrainLoop',
            max_epochs=total,
            val_interval=val_interval or total),
        param_scheduler=dict(
            type='CosineRestartLR',
            by_epoch=True,
            periods=[stage1, stage2],
            restart_weights=[1.0, 1.0],
            eta_min=1e-6),
        switch=dict(
            type='RoutingStageSwitchHook',
            switch_epoch=stage1,
            train_batch_size=batch2,
            **switch))


DIAGNOSTICS = dict(type='RouteDiagnosticsHook', per_task=16)
PAPER = schedule(15, 80, 20)
MINI = schedule(6, 16, 16)
# config -> (schedule, hooks after the switch hook), as every config was
# before the schedule helpers (the values each config file spelled out).
EXPECTED = {
    'configs/sler_ir_5task.py': (PAPER, [DIAGNOSTICS]),
    'configs/sler_ir_3task.py': (PAPER, [DIAGNOSTICS]),
    'configs/restormer/restormer_5task.py':
    (schedule(15, 80, 20, switch_model_stage=False), []),
    'configs/restormer/restormer_3task.py':
    (schedule(15, 80, 20, switch_model_stage=False), []),
    'configs/sler_ir_cdd11.py': (PAPER, [DIAGNOSTICS]),
    'configs/restormer/restormer_cdd11.py':
    (schedule(15, 80, 20, switch_model_stage=False), []),
    'configs/sler_ir_mini_5task.py': (MINI, [DIAGNOSTICS]),
    'configs/restormer/restormer_mini_5task.py':
    (schedule(6, 16, 16, switch_model_stage=False), []),
    'configs/sler_ir_mini_cdd.py': (schedule(3, 8, 16), [DIAGNOSTICS]),
    'configs/restormer/restormer_mini_cdd.py':
    (schedule(3, 8, 16, switch_model_stage=False), []),
    'configs/ablations/mini/sler_ir_mini_cdd_classifier_l1_cls.py':
    (schedule(3, 8, 16), [DIAGNOSTICS]),
    'configs/smoke/sler_ir_smoke.py':
    (schedule(2, 2, 8, val_interval=2),
     [dict(type='RouteDiagnosticsHook', per_task=4, batch_size=4)]),
}
for _name in ('alpha0p5', 'alpha2', 'c2', 'c4', 'classifier_l1',
              'classifier_l1_cls', 'hc_batch_mean', 'wo_glgf'):
    EXPECTED[f'configs/ablations/sler_ir_5task_{_name}.py'] = (PAPER,
                                                               [DIAGNOSTICS])
for _name in ('alpha0p5', 'alpha2', 'c2', 'c4', 'classifier_l1',
              'classifier_l1_cls', 'dead_leaves_encoder', 'earlier',
              'hc_batch_mean', 'margin1', 'soft_routing', 'wo_glgf'):
    EXPECTED[f'configs/ablations/mini/sler_ir_mini_5task_{_name}.py'] = (
        MINI, [DIAGNOSTICS])
# Not two-stage: an iteration-based smoke run.
ONE_STAGE = ['configs/smoke/restormer_smoke.py']


def load(config):
    return Config.fromfile(osp.join(REPO, config))


def test_every_shipped_config_is_listed():
    shipped = {
        osp.relpath(p, REPO)
        for p in glob.glob(
            osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p
    }
    assert shipped == set(EXPECTED) | set(ONE_STAGE)


@pytest.mark.parametrize('config', sorted(EXPECTED))
def test_the_schedule_of_each_config_is_unchanged(config):
    cfg = load(config)
    expected, extra_hooks = EXPECTED[config]
    assert cfg.train_cfg.to_dict() == expected['train_cfg']
    assert cfg.param_scheduler.to_dict() == expected['param_scheduler']
    assert [h.to_dict() for h in cfg.custom_hooks] == \
        [expected['switch']] + extra_hooks
    stages = read_stage_epochs(cfg)
    switch = expected['switch']
    assert stages.stage1_epochs == cfg.stage1_epochs == switch['switch_epoch']
    assert stages.stage1_epochs + stages.stage2_epochs == \
        expected['train_cfg']['max_epochs'] == \
        cfg.stage1_epochs + cfg.stage2_epochs
    assert stages.stage2_batch_size == switch['train_batch_size']


@pytest.mark.parametrize('config', [
    'configs/sler_ir_5task.py', 'configs/restormer/restormer_mini_5task.py',
    'configs/smoke/sler_ir_smoke.py'
])
def test_set_stage_epochs_rewrites_a_loaded_config(config):
    cfg = load(config)
    hooks = [h.to_dict() for h in cfg.custom_hooks]
    val_interval = cfg.train_cfg.val_interval
    set_stage_epochs(cfg, 2, 3)
    switch = [
        h for h in cfg.custom_hooks if h.type == 'RoutingStageSwitchHook'
    ]
    assert len(switch) == 1 and switch[0].switch_epoch == 2
    # Nothing else of the hooks changes (batch size, model stage switch).
    assert [h.to_dict() for h in cfg.custom_hooks] == [
        dict(h, switch_epoch=2) if h['type'] == 'RoutingStageSwitchHook' else h
        for h in hooks
    ]
    assert cfg.param_scheduler.periods == [2, 3]
    assert cfg.train_cfg.max_epochs == 5
    # Validating at the end stays at the end; every other epoch stays so.
    assert cfg.train_cfg.val_interval == (5 if val_interval >= 4 else
                                          val_interval)
    assert (cfg.stage1_epochs, cfg.stage2_epochs) == (2, 3)
    if 'max_epochs' in cfg:
        assert cfg.max_epochs == 5
    assert read_stage_epochs(cfg)[:2] == (2, 3)
    set_stage_epochs(cfg, 2, 3, stage2_batch_size=7)
    assert read_stage_epochs(cfg).stage2_batch_size == 7


def test_the_hook_is_found_by_type_not_place():
    cfg = Config(
        dict(
            train_cfg=dict(
                type='EpochBasedTrainLoop', max_epochs=10, val_interval=1),
            param_scheduler=[
                dict(type='LinearLR', by_epoch=True, begin=0, end=4),
                dict(
                    type='CosineRestartLR',
                    by_epoch=True,
                    periods=[4, 6],
                    restart_weights=[1.0, 1.0]),
                dict(type='ConstantLR', by_epoch=True, begin=4, end=10),
            ],
            custom_hooks=[
                dict(type='RouteDiagnosticsHook'),
                dict(type='mmagic.RoutingStageSwitchHook', switch_epoch=4),
            ]))
    set_stage_epochs(cfg, 1, 2)
    assert cfg.custom_hooks[0] == dict(type='RouteDiagnosticsHook')
    assert cfg.custom_hooks[1].switch_epoch == 1
    # Schedulers that start or end at the switch or the end move with it.
    assert [(s.get('begin'), s.get('end'))
            for s in cfg.param_scheduler] == [(0, 1), (None, None), (1, 3)]
    assert cfg.param_scheduler[1].periods == [1, 2]
    assert cfg.train_cfg.to_dict() == dict(
        type='EpochBasedTrainLoop', max_epochs=3, val_interval=1)


@pytest.mark.parametrize('hooks, message', [
    ([], 'exactly one RoutingStageSwitchHook'),
    ([dict(type='RoutingStageSwitchHook', switch_epoch=1)] * 2, 'found 2'),
    ([dict(type='RoutingStageSwitchHook', switch_iter=10)], 'switch_iter'),
])
def test_configs_it_cannot_set(hooks, message):
    cfg = Config(
        dict(
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=4),
            param_scheduler=dict(
                type='CosineRestartLR',
                periods=[2, 2],
                restart_weights=[1.0, 1.0]),
            custom_hooks=hooks))
    with pytest.raises(StageScheduleError, match=message):
        set_stage_epochs(cfg, 1, 1)
    # A ValueError for callers that expect one.
    with pytest.raises(ValueError):
        read_stage_epochs(cfg)


def test_bad_numbers_and_an_iteration_based_loop():
    cfg = load('configs/sler_ir_mini_5task.py')
    for s1, s2 in ((0, 3), (2, 0), (2.0, 3), (True, 3)):
        with pytest.raises(StageScheduleError, match='must be an int >= 1'):
            set_stage_epochs(cfg, s1, s2)
    # Nothing was changed by the refused calls.
    assert cfg.param_scheduler.periods == [6, 16]
    with pytest.raises(StageScheduleError, match='stage2_batch_size'):
        set_stage_epochs(cfg, 1, 1, stage2_batch_size=0)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=8)
    with pytest.raises(StageScheduleError, match='epoch-based train_cfg'):
        set_stage_epochs(cfg, 1, 1)
    cfg = load('configs/sler_ir_mini_5task.py')
    cfg.param_scheduler.by_epoch = False
    with pytest.raises(StageScheduleError, match='one period per stage'):
        set_stage_epochs(cfg, 1, 1)
    assert cfg.custom_hooks[0].switch_epoch == 6


def test_with_stage_epochs_leaves_the_base_alone():
    base = Config(
        dict(
            stage1_epochs=15,
            stage2_epochs=80,
            **{
                k: v
                for k, v in two_stage_schedule(
                    15, 80, 20, extra_hooks=[DIAGNOSTICS]).items()
            }))
    before = base.to_dict()
    keys = with_stage_epochs(base, 6, 16, 16)
    assert base.to_dict() == before
    assert set(keys) == {'train_cfg', 'param_scheduler', 'custom_hooks'}
    assert keys['custom_hooks'][0]['switch_epoch'] == 6
    assert keys['custom_hooks'][0]['train_batch_size'] == 16
    assert keys['custom_hooks'][1] == DIAGNOSTICS
    assert keys['param_scheduler']['periods'] == [6, 16]
    assert keys['train_cfg']['max_epochs'] == 22
