"""FiniteLossGuardHook: a NaN/Inf loss stops training, checkpoints intact."""
# The ranks spawned below import this module without conftest.py: apply the
# plugin's numpy fix before mmagic is imported.
import sler_ir_mm  # noqa: F401,I001  isort:skip
import glob
import logging
import os
import os.path as osp
import socket
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
import torch.nn as nn
from make_smoke_pairs import make_smoke_pairs
from mmagic.registry import TRANSFORMS
from mmagic.structures import DataSample
from mmcv.transforms import BaseTransform
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop, Runner

from sler_ir_mm.engine.hooks import FiniteLossGuardHook, NonFiniteLossError
from sler_ir_mm.utils.checkpoint_io import load_checkpoint_file

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


@TRANSFORMS.register_module(force=True)
class PoisonGroundTruth(BaseTransform):
    """Test only: a float ground truth with a NaN pixel for named files,
    as a float image format (e.g. EXR or .npy data) can carry."""

    def __init__(self, names):
        self.names = set(names)

    def transform(self, results):
        if osp.basename(results['gt_path']) in self.names:
            gt = results['gt'].astype(np.float32)
            gt[0, 0, 0] = np.nan
            results['gt'] = gt
        return results


def make_cfg(root, work_dir, poisoned, max_iters=4, max_keep_ckpts=1):
    return Config(
        dict(
            default_scope='mmagic',
            experiment_name=osp.basename(work_dir),
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
                data_preprocessor=dict(
                    type='DataPreprocessor',
                    mean=[0., 0., 0.],
                    std=[255., 255., 255.])),
            train_dataloader=dict(
                batch_size=1,
                num_workers=0,
                sampler=dict(type='InfiniteSampler', shuffle=False),
                dataset=dict(
                    type='BasicImageDataset',
                    data_root=root,
                    data_prefix=dict(
                        img='noise/train/input', gt='noise/train/target'),
                    pipeline=[
                        dict(type='LoadImageFromFile', key='img',
                             channel_order='rgb'),
                        dict(type='LoadImageFromFile', key='gt',
                             channel_order='rgb'),
                        dict(type='PoisonGroundTruth', names=poisoned),
                        dict(type='PackInputs'),
                    ])),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
            optim_wrapper=dict(
                type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
            # As configs/_base_/default_runtime.py: a checkpoint every
            # iteration, and max_keep_ckpts=1 would delete iter_2.pth
            # before writing iter_3.pth.
            default_hooks=dict(
                checkpoint=dict(
                    type='CheckpointHook',
                    interval=1,
                    by_epoch=False,
                    max_keep_ckpts=max_keep_ckpts,
                    save_last=True),
                logger=dict(type='LoggerHook', interval=1),
                finite_loss_guard=dict(type='FiniteLossGuardHook')),
            randomness=dict(seed=0),
            log_level='WARNING'))


def work_dir_files(work_dir):
    files = glob.glob(osp.join(work_dir, '*.pth'))
    files.append(osp.join(work_dir, 'last_checkpoint'))
    out = {}
    for path in files:
        with open(path, 'rb') as f:
            out[osp.basename(path)] = f.read()
    return out


class Snapshot(Hook):
    """Copies the work dir's checkpoints after each iteration's saving."""
    priority = 'LOWEST'

    def __init__(self):
        self.after_iter = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.after_iter[runner.iter + 1] = work_dir_files(runner.work_dir)


def test_poisoned_sample_stops_training_and_keeps_checkpoints(tmp_path):
    root = make_smoke_pairs(
        str(tmp_path / 'data'), ['noise'], num_train=4, size=16)
    work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(make_cfg(root, work_dir, ['0002.png']))
    snapshot = Snapshot()
    runner.register_hook(snapshot)
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    msg = str(err.value)
    print(msg)  # what the user sees, in the test log
    # The third sample (0002.png) is the third iteration's batch.
    assert msg.startswith('Non-finite loss at iteration 3.')
    assert 'loss=nan' in msg and 'loss_pix=nan' in msg
    gt = osp.join(root, 'noise', 'train', 'target', '0002.png')
    img = osp.join(root, 'noise', 'train', 'input', '0002.png')
    assert f'gt_path={gt}' in msg and f'img_path={img}' in msg
    assert f'the last checkpoint, {osp.join(work_dir, "iter_2.pth")}, is ' \
           'untouched' in msg
    # Nothing of iteration 3 reached the disk: the checkpoints and the
    # last_checkpoint pointer are byte for byte those after iteration 2.
    assert sorted(snapshot.after_iter) == [1, 2]
    assert work_dir_files(work_dir) == snapshot.after_iter[2]
    assert set(snapshot.after_iter[2]) == {'iter_2.pth', 'last_checkpoint'}
    saved = load_checkpoint_file(osp.join(work_dir, 'iter_2.pth'))
    assert all(torch.isfinite(v).all() for v in saved['state_dict'].values()
               if v.is_floating_point())


def test_clean_run_is_unaffected(tmp_path):
    root = make_smoke_pairs(
        str(tmp_path / 'data'), ['noise'], num_train=2, size=16)
    runner = Runner.from_cfg(
        make_cfg(root, str(tmp_path / 'clean'), [], max_iters=2))
    runner.train()
    assert osp.isfile(osp.join(str(tmp_path / 'clean'), 'iter_2.pth'))


# ------------------------------------------------- the hook on a fake runner
def fake_runner(model=None, last_ckpt=None, epoch_based=False, it=6):
    loop = (EpochBasedTrainLoop.__new__(EpochBasedTrainLoop)
            if epoch_based else None)
    return SimpleNamespace(
        model=model or nn.Linear(2, 2),
        iter=it,
        epoch=1,
        train_loop=loop,
        message_hub=SimpleNamespace(
            get_info=lambda key: last_ckpt if key == 'last_ckpt' else None),
        logger=logging.getLogger('finite_loss_guard_test'))


def batch(*names):
    return dict(data_samples=[
        DataSample(metainfo=dict(img_path=f'in/{n}', gt_path=f'gt/{n}'))
        for n in names
    ])


def test_finite_losses_pass():
    hook = FiniteLossGuardHook()
    hook.after_train_iter(
        fake_runner(), 0, batch('a.png'),
        dict(loss=torch.tensor(0.5), loss_pix=0.5,
             router_min_center_angle=float('nan')))
    hook.after_train_iter(fake_runner(), 0, None, None)


def test_inf_loss_in_an_epoch_based_run():
    hook = FiniteLossGuardHook()
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(
            fake_runner(last_ckpt='work/epoch_1.pth', epoch_based=True),
            2, batch('a.png', 'b.png'),
            dict(loss=torch.tensor(float('inf')), loss_pix=torch.tensor(1.),
                 loss_hc=torch.tensor(float('inf'))))
    msg = str(err.value)
    assert msg.startswith('Non-finite loss at iteration 7 (epoch 2, batch 3 '
                          'of the epoch).')
    assert 'Non-finite loss terms: loss=inf, loss_hc=inf' in msg
    assert 'loss_pix' not in msg
    assert 'The batch held these 2 samples' in msg
    assert 'gt_path=gt/a.png  img_path=in/a.png' in msg
    assert 'gt_path=gt/b.png  img_path=in/b.png' in msg
    assert 'work/epoch_1.pth, is untouched' in msg
    assert '--resume' in msg


def test_nan_gradient_behind_a_finite_loss():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    with torch.no_grad():
        model[1].bias[0] = float('nan')
    hook = FiniteLossGuardHook()
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(
            fake_runner(model), 0, batch('a.png'), dict(loss=0.1))
    msg = str(err.value)
    assert 'Non-finite parameters after the optimizer step of iteration 7'\
        in msg
    assert 'Non-finite parameters/buffers: 1.bias' in msg
    assert 'no checkpoint has been written in this run yet' in msg
    # Frozen parameters do not change in a step and are not checked;
    # check_parameters=False checks the losses only.
    model[1].bias.requires_grad_(False)
    hook.after_train_iter(fake_runner(model), 0, None, dict(loss=0.1))
    model[1].bias.requires_grad_(True)
    FiniteLossGuardHook(check_parameters=False).after_train_iter(
        fake_runner(model), 0, None, dict(loss=0.1))


def test_stacked_samples_and_the_sample_limit():
    stacked = DataSample.stack([
        DataSample(metainfo=dict(gt_path=f'gt/{i}.png')) for i in range(3)
    ])
    hook = FiniteLossGuardHook(max_samples=2)
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(
            fake_runner(), 0, dict(data_samples=stacked),
            dict(loss=float('nan')))
    msg = str(err.value)
    assert 'gt_path=gt/0.png' in msg and 'gt_path=gt/1.png' in msg
    assert 'gt/2.png' not in msg and '... (+1 more)' in msg


def test_argument_checks():
    with pytest.raises(TypeError, match='check_parameters'):
        FiniteLossGuardHook(check_parameters=1)
    with pytest.raises(ValueError, match='max_samples'):
        FiniteLossGuardHook(max_samples=0)


def test_every_shipped_config_has_the_guard():
    configs = [
        p for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
        if f'{os.sep}_base_{os.sep}' not in p
    ]
    assert configs
    for path in configs:
        hooks = Config.fromfile(path).default_hooks
        assert hooks.finite_loss_guard == dict(
            type='FiniteLossGuardHook'), path
        assert 'checkpoint' in hooks, path


# ------------------------------------------------------ two ranks (gloo, CPU)
def _two_rank_worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch_dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        hook = FiniteLossGuardHook()
        runner = fake_runner(last_ckpt='work/iter_6.pth')
        hook.after_train_iter(runner, 5, batch(f'r{rank}.png'),
                              dict(loss=torch.tensor(1.0)))
        # Only rank 1's batch is poisoned; rank 0 must stop as well, or it
        # would go on to save the weights the averaged gradients poisoned.
        loss = torch.tensor(float('nan') if rank == 1 else 1.0)
        try:
            hook.after_train_iter(runner, 6, batch(f'r{rank}.png'),
                                  dict(loss=loss))
            message = 'no error'
        except NonFiniteLossError as err:
            message = str(err)
        with open(osp.join(out_dir, f'rank{rank}.txt'), 'w') as f:
            f.write(message)
    finally:
        torch_dist.destroy_process_group()


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not torch_dist.is_gloo_available(),
                    reason='needs the gloo backend')
def test_a_fault_on_one_rank_stops_every_rank(tmp_path):
    mp.spawn(_two_rank_worker, args=(free_port(), str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        with open(tmp_path / f'rank{rank}.txt') as f:
            msg = f.read()
        assert msg.startswith('Non-finite loss at iteration 7'), msg
        assert 'Rank 1: non-finite loss terms: loss=nan' in msg
        assert 'Rank 1: the batch held this sample' in msg
        assert 'img_path=in/r1.png' in msg
        assert 'Rank 0: non-finite loss' not in msg
