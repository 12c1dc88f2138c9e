"""Killed and resumed runs, and run-to-run determinism (SPEC sections 5-6).

``configs/smoke/sler_ir_smoke.py`` trains epochs 0-1 in stage 1 (two
iterations of batch 4 each) and epochs 2-3 in stage 2 (one iteration of
batch 8), with a checkpoint after every epoch, through ``tools/train.py``
with ``randomness=dict(seed=0, deterministic=True)``. The runs:

- ``full`` and ``full_again``: uninterrupted;
- ``chain``: killed with a real SIGKILL three times and each time resumed
  with ``--resume`` (latest checkpoint of the work dir):

  1. in stage 1, after iteration 3 (mid-epoch 1): the resumed run restarts
     epoch 1 from ``epoch_1.pth``;
  2. right at the stage switch, in ``before_train_epoch`` of epoch 2 after
     RoutingStageSwitchHook switched: resumed from ``epoch_2.pth``;
  3. in stage 2, half-way through writing ``epoch_4.pth``: resumed from
     ``epoch_3.pth`` (a stage-2 checkpoint);
  4. resumed to the end.

Tolerance: none. On one machine, with the same threads and deterministic
algorithms, the same float operations in the same order give the same bits,
and EpochSeedHook (default_runtime.py) makes every epoch's random draws a
function of (seed, epoch) only, so the replayed epochs are the original
ones bit for bit: the weights, losses, metrics and routes of the chain equal
the uninterrupted run's exactly, and so do two uninterrupted runs.

Processes: every run is a process of its own, but the chain, ``full`` and
the test-noise snippet are forked from one interpreter that has imported
torch, MMEngine, MMagic and the plugin already (tests/helpers/
forked_tools.py; ``PYTHONHASHSEED=4321``), which saves the ~10 s of imports
of each start. ``full_again`` is a fresh interpreter (random hash seed),
so the fork-started runs are checked against a normally started one.
"""
import hashlib
import json
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from forked_tools import ToolServer
from kill_hook import SIGKILL_RETURN_CODE
from make_smoke_pairs import make_smoke_pairs
from tool_runner import read_scalars, run_tool

from sler_ir_mm.utils.checkpoint_io import load_checkpoint_file

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
SEEDED = [
    '--cfg-options', 'randomness.seed=0', 'randomness.deterministic=True'
]
# Logged values that must match; times and ETAs may not.
COMPARED = ('loss', 'lr', 'router_', '/PSNR', '/SSIM')
KILLS = {
    'stage1_mid_epoch': 'after_iter=3',
    'at_switch': 'at_epoch_start=2',
    'stage2_saving_epoch_4': "while_saving='epoch_4.pth'",
}
# Test-noise digests: another process, another hash seed, another global RNG.
NOISE_SNIPPET = r'''
import hashlib, json, sys
import numpy as np
import sler_ir_mm  # noqa
from sler_ir_mm.datasets import AddGaussianNoise
np.random.seed(int(sys.argv[1]))
out = {}
for name in ('3096.jpg', '12084.jpg'):
    for sigma in (15, 25, 50):
        img = np.full((24, 24, 3), 128, np.uint8)
        res = AddGaussianNoise(sigma=sigma, seed=0)(
            dict(img=img, img_path='data/test/bsd68/' + name))
        digest = hashlib.sha256(res['img'].tobytes()).hexdigest()
        out[f'{name}/{sigma}'] = digest
print(json.dumps(out))
'''


def _state(work):
    """Checkpoint files and what last_checkpoint names, right now."""
    with open(osp.join(work, 'last_checkpoint')) as f:
        last = osp.basename(f.read().strip())
    files = {
        f: osp.getsize(osp.join(work, f))
        for f in os.listdir(work) if '.pth' in f
    }
    return dict(last=last, files=files)


@pytest.fixture(scope='module')
def runs(repo_root, tmp_path_factory):
    cwd = str(tmp_path_factory.mktemp('killed'))
    make_smoke_pairs(osp.join(cwd, 'data', 'smoke_pairs'), size=32)
    cfg = osp.join(repo_root, CFG)
    train = osp.join(repo_root, 'tools', 'train.py')
    killing = {}
    for name, point in KILLS.items():
        killing[name] = osp.join(cwd, f'kill_{name}.py')
        with open(killing[name], 'w') as f:
            f.write(f'_base_ = {cfg!r}\n'
                    "custom_imports = dict(imports=['sler_ir_mm', "
                    "'kill_hook'])\n"
                    'custom_hooks = _base_.custom_hooks + '
                    f"[dict(type='SigKillHook', {point})]\n")
    # What tool_runner.run_tool gives a tool: the repository and the test
    # helpers (kill_hook) importable.
    env = dict(os.environ, PYTHONHASHSEED='4321')
    env['PYTHONPATH'] = os.pathsep.join(
        [repo_root, osp.join(repo_root, 'tests', 'helpers'),
         env.get('PYTHONPATH', '')])

    def forked_train(server, config, work, *extra, code=0):
        args = (train, config, '--work-dir', work, *extra, *SEEDED)
        got, out = server.run(args, cwd)
        assert got == code, f'{args} exited {got}:\n{out[-5000:]}'
        return out

    def chain(server):
        work = osp.join(cwd, 'chain')
        steps = []
        resume = ()
        for name in KILLS:
            log = forked_train(
                server, killing[name], 'chain', *resume,
                code=SIGKILL_RETURN_CODE)
            steps.append(dict(name=name, log=log, after=_state(work)))
            resume = ('--resume', )
        log = forked_train(server, cfg, 'chain', '--resume')
        steps.append(dict(name='to_the_end', log=log, after=_state(work)))
        return steps

    def noise_digests(server):
        # Another process with another hash seed (4321) and global RNG.
        code, out = server.run(['-c', NOISE_SNIPPET, '99'], cwd)
        assert code == 0, out[-3000:]
        return json.loads(out.strip().splitlines()[-1])

    def forked_lane():
        with ToolServer(env) as server:
            steps = chain(server)
            forked_train(server, cfg, 'full')
            return steps, noise_digests(server)

    def fresh_lane():
        run_tool(repo_root, cwd, train, cfg, '--work-dir', 'full_again',
                 *SEEDED)

    # Two lanes, as the machine may have two cores: the forked runs (the
    # chain of four processes, then full), and the fresh interpreter.
    with ThreadPoolExecutor(max_workers=2) as pool:
        forked_job = pool.submit(forked_lane)
        fresh_job = pool.submit(fresh_lane)
        steps, digests = forked_job.result()
        fresh_job.result()
    return dict(cwd=cwd, cfg=cfg, steps=steps, noise_digests=digests)


def _work(runs, name):
    return osp.join(runs['cwd'], name)


def _weights(work, epoch):
    ckpt = load_checkpoint_file(osp.join(work, f'epoch_{epoch}.pth'))
    return ckpt['state_dict']


def _assert_same_weights(work_a, work_b, epochs=(2, 3, 4)):
    for epoch in epochs:
        a, b = _weights(work_a, epoch), _weights(work_b, epoch)
        assert a.keys() == b.keys()
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, (epoch, different[:5])


def _logged(work):
    """step -> the compared scalars (losses, lr, router stats, metrics)."""
    return {
        step: {
            k: v
            for k, v in rec.items() if any(c in k for c in COMPARED)
        }
        for step, rec in read_scalars(work).items()
    }


def _routes_and_outputs(runs, work):
    from sler_ir_mm.apis import init_restorer, restore_image
    model = init_restorer(runs['cfg'], osp.join(work, 'epoch_4.pth'))
    root = osp.join(runs['cwd'], 'data', 'smoke_pairs')
    out = {}
    for task in ('noise', 'dark'):
        folder = osp.join(root, task, 'val', 'input')
        for name in sorted(os.listdir(folder)):
            out[f'{task}/{name}'] = restore_image(model,
                                                  osp.join(folder, name))
    return out


def test_killed_in_stage1_mid_epoch(runs):
    step = runs['steps'][0]
    # Killed in epoch 1 (iterations 3-4): epoch_2.pth was never written.
    assert step['after']['last'] == 'epoch_1.pth'
    assert 'epoch_2.pth' not in step['after']['files']
    resumed = runs['steps'][1]['log']
    assert 'Auto resumed from the latest checkpoint' in resumed
    assert 'resumed epoch: 1, iter: 2' in resumed


def test_killed_right_at_the_stage_switch(runs):
    step = runs['steps'][1]
    # The switch happened, then the kill, before any stage-2 iteration.
    assert 'RoutingStageSwitchHook: stage 2 from epoch 2' in step['log']
    assert 'Epoch(train) [3]' not in step['log']
    assert step['after']['last'] == 'epoch_2.pth'
    resumed = runs['steps'][2]['log']
    assert 'resumed epoch: 2, iter: 4' in resumed
    assert 'resumed past the stage switch, re-applying stage 2' in resumed


def test_partial_checkpoint_is_never_picked(runs):
    """Killed half-way through writing epoch_4.pth."""
    after = runs['steps'][2]['after']
    files = after['files']
    # The half-written bytes sit under a temporary name, never under
    # epoch_4.pth, and last_checkpoint still names the previous checkpoint.
    assert 'epoch_4.pth' not in files
    assert 0 < files['epoch_4.pth.tmp'] < files['epoch_3.pth']
    assert after['last'] == 'epoch_3.pth'
    resumed = runs['steps'][3]['log']
    assert 'Auto resumed from the latest checkpoint' in resumed
    assert osp.join('chain', 'epoch_3.pth') in resumed
    assert 'resumed epoch: 3, iter: 5' in resumed
    # The resumed run rewrote epoch_4.pth whole; nothing temporary is left.
    end = runs['steps'][3]['after']
    assert end['last'] == 'epoch_4.pth'
    assert not [f for f in end['files'] if f.endswith('.tmp')]
    _weights(_work(runs, 'chain'), 4)


def test_resumed_run_matches_uninterrupted(runs):
    full, chain = _work(runs, 'full'), _work(runs, 'chain')
    _assert_same_weights(full, chain)
    logged_full, logged_chain = _logged(full), _logged(chain)
    # Every iteration (the replayed ones included, the resumed run's log
    # winning) and both validations (epochs 2 and 4).
    assert sorted(logged_full) == list(range(1, 7))
    for step, values in logged_full.items():
        assert logged_chain[step] == values, step
    for task in ('noise', 'dark'):
        assert logged_chain[4][f'{task}/PSNR'] == \
            logged_full[4][f'{task}/PSNR'] > 0
    routed_full = _routes_and_outputs(runs, full)
    routed_chain = _routes_and_outputs(runs, chain)
    assert routed_full.keys() == routed_chain.keys()
    for name, result in routed_full.items():
        assert result.route is not None
        np.testing.assert_array_equal(routed_chain[name].route, result.route)
        np.testing.assert_array_equal(routed_chain[name].image, result.image)


def test_two_seeded_deterministic_runs_are_identical(runs):
    full, again = _work(runs, 'full'), _work(runs, 'full_again')
    _assert_same_weights(full, again)
    assert _logged(full) == _logged(again)


def test_seeded_test_noise_is_identical_across_processes(runs):
    """Test noise depends on (seed, file name, sigma) only.

    Within one process: tests/test_datasets/test_transforms/
    test_add_gaussian_noise.py::test_seeded_noise_repeats_per_image_and_sigma.
    Here another interpreter, with another hash seed and global RNG state,
    draws the same noise.
    """
    from sler_ir_mm.datasets import AddGaussianNoise
    np.random.seed(1)
    for key, digest in runs['noise_digests'].items():
        name, sigma = key.split('/')
        img = np.full((24, 24, 3), 128, np.uint8)
        res = AddGaussianNoise(
            sigma=int(sigma), seed=0)(
                dict(img=img, img_path=osp.join('elsewhere', name)))
        assert hashlib.sha256(res['img'].tobytes()).hexdigest() == digest
    assert len(set(runs['noise_digests'].values())) == 6
