"""The spherical router's centers stay in sync across ranks (issue 16).

tools/dist_train.sh runs ``configs/smoke/sler_ir_smoke.py`` on 2 CPU
processes (gloo), as tests/test_tools/test_dist_train_cpu.py does, for one
stage-1 epoch (2 iterations per rank on different samples). A hook loaded
through ``custom_imports`` records on every rank, after every iteration,
the router's centers and memory queue (right after the center update of
that step, before the next forward) and the samples the rank trained on.
Every rank must hold the same centers and queue after every step although
each clustered from its own batch: the router gathers the embeddings of all
ranks and broadcasts rank 0's centers.
"""
import os
import os.path as osp
import socket
import subprocess

import torch
from make_smoke_pairs import make_smoke_pairs

HOOK = '''
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmagic.registry import HOOKS


@HOOKS.register_module()
class DumpRouterStateHook(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.record = dict(iters={})

    def _router(self, runner):
        model = runner.model
        return (model.module if is_model_wrapper(model) else model).router

    def before_train(self, runner):
        self.record['start'] = self._router(runner).centers.detach().clone()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._samples = [(s.metainfo['degradation_label'],
                          osp.basename(s.img_path))
                         for s in data_batch['data_samples']]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        router = self._router(runner)
        self.record['iters'][runner.iter] = dict(
            centers=router.centers.detach().clone(),
            queue=router.queue.detach().clone(),
            queue_len=int(router.queue_len),
            samples=self._samples)

    def after_train(self, runner):
        self.record['world_size'] = runner.world_size
        torch.save(self.record, osp.join(
            runner.work_dir, f'router_rank{runner.rank}.pt'))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_router_centers_are_equal_on_both_ranks(repo_root, tmp_path):
    cwd = str(tmp_path)
    make_smoke_pairs(osp.join(cwd, 'data', 'smoke_pairs'), size=32)
    with open(osp.join(cwd, 'dump_router_state.py'), 'w') as f:
        f.write(HOOK)
    base = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    config = osp.join(cwd, 'dump_centers.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = {base!r}\n'
                "custom_imports = dict(imports=['sler_ir_mm', "
                "'dump_router_state'])\n"
                'custom_hooks = _base_.custom_hooks + '
                "[dict(type='DumpRouterStateHook')]\n")
    env = dict(os.environ, PORT=str(free_port()), CUDA_VISIBLE_DEVICES='')
    env['PYTHONPATH'] = os.pathsep.join([cwd, env.get('PYTHONPATH', '')])
    # One stage-1 epoch, batch 2 per rank: 2 iterations, no validation.
    proc = subprocess.run([
        'bash', osp.join(repo_root, 'tools', 'dist_train.sh'), config, '2',
        '--work-dir', 'work', '--cfg-options',
        'train_dataloader.batch_size=2', 'train_cfg.max_epochs=1'
    ],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert 'gloo' in out
    ranks = [
        torch.load(osp.join(cwd, 'work', f'router_rank{r}.pt'),
                   map_location='cpu', weights_only=False) for r in (0, 1)
    ]
    assert [r['world_size'] for r in ranks] == [2, 2]
    iters = sorted(ranks[0]['iters'])
    assert iters == [0, 1] and sorted(ranks[1]['iters']) == iters
    # Both ranks built the same initial centers (same seed).
    assert torch.equal(ranks[0]['start'], ranks[1]['start'])
    previous = ranks[0]['start']
    for it in iters:
        rank0, rank1 = ranks[0]['iters'][it], ranks[1]['iters'][it]
        # Each rank trained on its own samples ...
        assert not set(rank0['samples']) & set(rank1['samples'])
        # ... and the centers moved (stage 1 clusters) ...
        assert not torch.equal(rank0['centers'], previous), it
        previous = rank0['centers']
        # ... to the same place on both ranks.
        assert torch.equal(rank0['centers'], rank1['centers']), it
    # The clustering memory holds the embeddings of both ranks' samples
    # (2 per rank and step) on both ranks.
    for it in iters:
        rank0, rank1 = ranks[0]['iters'][it], ranks[1]['iters'][it]
        assert rank0['queue_len'] == rank1['queue_len'] == 4 * (it + 1)
        assert torch.equal(rank0['queue'], rank1['queue']), it
