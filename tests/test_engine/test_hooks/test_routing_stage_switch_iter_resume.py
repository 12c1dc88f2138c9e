"""RoutingStageSwitchHook with ``switch_iter`` (an iteration-based loop)
and resume: a run resumed from a checkpoint saved after the switch
iteration is in stage 2 from its first iteration on, one resumed from a
checkpoint saved before it switches at the configured iteration, as the
uninterrupted run does.

The runs (tiny runners of test_routing_stage_switch_hook.py's ``make_cfg``):
6 iterations, stage 2 from iteration 3 (0-based) with batch size 4, a
checkpoint after every iteration: ``iter_2.pth`` (before the switch),
``iter_3.pth`` (at it: iteration 3 is still to train) and ``iter_4.pth``
(after it).

Two traps of ``switch_iter`` that the hook avoids (the epoch-based switch
has neither):

- IterBasedTrainLoop draws an iteration's batch before its
  ``before_train_iter``: a switch there would train the switch iteration on
  a stage-1 batch, so the hook switches after the iteration before it;
- on resume MMEngine skips all ``iter`` batches trained before it, but only
  ``iter - switch_iter`` of them came from the stage-2 dataloader: skipping
  them all on the rebuilt loader would train on other data than the
  uninterrupted run, so the first ``switch_iter`` skips draw nothing.
"""
import os.path as osp

import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from mmengine.hooks import Hook
from mmengine.runner import Runner
from test_routing_stage_switch_hook import final_weights, make_cfg

SWITCH_ITER = 3
MAX_ITERS = 6


class StageSpy(Hook):
    """The stage and frozen flag each iteration runs with, the batch size
    of the train dataloader then, and the size of the batch it trains on."""

    priority = 'LOWEST'  # after RoutingStageSwitchHook's before_train_iter

    def __init__(self):
        self.seen = {}
        self.batches = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = runner.model
        self.seen[runner.iter] = (model.stage, model.router.frozen,
                                  runner.train_loop.dataloader.batch_size)
        self.batches[runner.iter] = [
            (s.metainfo['degradation_label'], osp.basename(s.img_path))
            for s in data_batch['data_samples']
        ]


def iter_cfg(root, work_dir, name):
    cfg = make_cfg(root, work_dir, name, switch_iter=SWITCH_ITER,
                   train_batch_size=4)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=MAX_ITERS)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1, by_epoch=False)
    return cfg


def train(cfg, resume_from=None):
    if resume_from is not None:
        cfg.resume = True
        cfg.load_from = resume_from
    runner = Runner.from_cfg(cfg)
    spy = StageSpy()
    runner.register_hook(spy)
    runner.train()
    runner.batches = spy.batches
    return runner, spy.seen


@pytest.fixture(scope='module')
def full(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('switch_iter')
    root = make_smoke_pairs(
        str(tmp / 'data'), ['noise'], num_train=4, size=16)
    runner, seen = train(iter_cfg(root, str(tmp / 'full'), 'iter_full'))
    return dict(tmp=tmp, root=root, runner=runner, seen=seen)


def ckpt(full, name):
    path = osp.join(str(full['tmp'] / 'full'), name)
    assert osp.isfile(path), path
    return path


STAGE1 = (1, False, 2)
STAGE2 = (2, True, 4)


def test_uninterrupted_run_switches_at_the_iteration(full):
    assert full['seen'] == {
        i: STAGE1 if i < SWITCH_ITER else STAGE2
        for i in range(MAX_ITERS)
    }
    # The checkpoints around the switch carry the stage.
    for name, stage in (('iter_2.pth', 1), ('iter_4.pth', 2),
                        ('iter_6.pth', 2)):
        state = torch.load(ckpt(full, name), map_location='cpu',
                           weights_only=False)
        assert int(state['state_dict']['_stage']) == stage, name
        assert state['meta']['iter'] == int(name[5:-4])


@pytest.fixture(scope='module')
def after(full):
    """Resumed from iter_4.pth, a checkpoint saved after the switch."""
    return train(
        iter_cfg(full['root'], str(full['tmp'] / 'after'), 'iter_after'),
        ckpt(full, 'iter_4.pth'))


def test_resume_after_the_switch_keeps_stage2(full, after):
    runner, seen = after
    # Resumed at iteration 4: stage 2, frozen routing path and the stage-2
    # batch size from the first resumed iteration on.
    assert seen == {4: STAGE2, 5: STAGE2}
    model = runner.model
    assert model.stage == 2 and model.router.frozen
    assert not any(p.requires_grad for p in model.router.parameters())
    assert not any(p.requires_grad
                   for p in model.degradation_encoder.parameters())
    # The centers are the checkpoint's: stage 2 never moves them.
    saved = torch.load(ckpt(full, 'iter_4.pth'), map_location='cpu',
                       weights_only=False)['state_dict']
    assert torch.equal(model.router.centers, saved['router.centers'])


def test_resume_before_the_switch_switches_at_the_iteration(full):
    runner, seen = train(
        iter_cfg(full['root'], str(full['tmp'] / 'before'), 'iter_before'),
        ckpt(full, 'iter_2.pth'))
    assert seen == {2: STAGE1, 3: STAGE2, 4: STAGE2, 5: STAGE2}
    assert runner.model.stage == 2 and runner.model.router.frozen
    # Same data, same switch point: the uninterrupted run's final weights.
    assert runner.batches == {
        i: b
        for i, b in full['runner'].batches.items() if i >= 2
    }
    expected = final_weights(full['runner'])
    got = final_weights(runner)
    for key, value in expected.items():
        assert torch.allclose(got[key], value, atol=1e-6), key


def test_the_switch_iteration_trains_on_a_stage2_batch(full):
    sizes = {i: len(b) for i, b in full['runner'].batches.items()}
    assert sizes == {i: 2 if i < SWITCH_ITER else 4 for i in range(6)}


def test_resume_after_the_switch_matches_uninterrupted(full, after):
    runner, _ = after
    assert runner.batches == {
        i: b
        for i, b in full['runner'].batches.items() if i >= 4
    }
    expected = final_weights(full['runner'])
    got = final_weights(runner)
    for key, value in expected.items():
        assert torch.allclose(got[key], value, atol=1e-6), key


def test_resume_at_the_switch_matches_uninterrupted(full):
    """iter_3.pth: saved after the iteration before the switch, so already
    in stage 2; every batch of the stage-2 dataloader is still to come."""
    state = torch.load(ckpt(full, 'iter_3.pth'), map_location='cpu',
                       weights_only=False)
    assert int(state['state_dict']['_stage']) == 2
    runner, seen = train(
        iter_cfg(full['root'], str(full['tmp'] / 'at'), 'iter_at'),
        ckpt(full, 'iter_3.pth'))
    assert seen == {3: STAGE2, 4: STAGE2, 5: STAGE2}
    assert runner.batches == {
        i: b
        for i, b in full['runner'].batches.items() if i >= 3
    }
