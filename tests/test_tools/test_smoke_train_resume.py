"""End to end through the tools: train, validate, checkpoint, resume, test.

A tiny MMagic Restormer (configs/smoke/restormer_smoke.py) trains on a few
generated pairs. One run trains 8 iterations straight; another is killed
(``os._exit``, no clean-up) right after iteration 4 and resumed with
``--resume``. The resumed iterations must log the same losses and learning
rates as the uninterrupted run.
"""
import glob
import json
import os.path as osp
import re
import shutil
import subprocess

import pytest
from kill_hook import KILLED_EXIT_CODE
from make_smoke_pairs import make_smoke_pairs
from tool_runner import read_scalars, run_tool

SMOKE_CFG = osp.join('configs', 'smoke', 'restormer_smoke.py')


@pytest.fixture(scope='module')
def smoke_runs(repo_root, tmp_path_factory):
    cwd = str(tmp_path_factory.mktemp('smoke'))
    make_smoke_pairs(osp.join(cwd, 'data', 'smoke_pairs'))
    cfg = osp.join(repo_root, SMOKE_CFG)
    train = osp.join(repo_root, 'tools', 'train.py')
    run_tool(repo_root, cwd, train, cfg, '--work-dir', 'full')
    # The same config plus a hook that kills the process after iteration 4.
    killed_cfg = osp.join(cwd, 'killed_after_4.py')
    with open(killed_cfg, 'w') as f:
        f.write(f'_base_ = {cfg!r}\n'
                "custom_imports = dict(imports=['sler_ir_mm', 'kill_hook'])\n"
                "custom_hooks = [dict(type='KillAfterIterHook', "
                'kill_after_iter=4)]\n')
    run_tool(repo_root, cwd, train, killed_cfg, '--work-dir', 'split',
             expect_code=KILLED_EXIT_CODE)
    assert not osp.exists(osp.join(cwd, 'split', 'iter_8.pth'))
    resumed_log = run_tool(repo_root, cwd, train, cfg, '--work-dir', 'split',
                           '--resume')
    return dict(cwd=cwd, cfg=cfg, resumed_log=resumed_log)


def test_training_writes_checkpoints_and_validates(smoke_runs):
    full = osp.join(smoke_runs['cwd'], 'full')
    assert osp.isfile(osp.join(full, 'iter_4.pth'))
    assert osp.isfile(osp.join(full, 'iter_8.pth'))
    assert glob.glob(osp.join(full, 'best_smoke_PSNR_iter_*.pth'))
    scalars = read_scalars(full)
    for it in (4, 8):
        assert scalars[it]['smoke/PSNR'] > 0
        assert 0 < scalars[it]['smoke/SSIM'] <= 1
    assert sorted(k for k in scalars if 'loss' in scalars[k]) == list(
        range(1, 9))


def run_scalars(work_dir):
    """Per run (timestamped log dir, oldest first): iteration -> scalars."""
    runs = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        by_iter = {}
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                # Training and validation records share the step.
                by_iter.setdefault(rec['step'], {}).update(rec)
        runs.append(by_iter)
    return runs


def test_resume_reproduces_uninterrupted_run(smoke_runs):
    split_dir = osp.join(smoke_runs['cwd'], 'split')
    log = smoke_runs['resumed_log']
    # The resumed process really resumed: MMEngine found the killed run's
    # last checkpoint, restored its iteration and trained only the rest.
    found = re.findall(r'Auto resumed from the latest checkpoint (\S+)\.$',
                       log, re.M)
    assert len(found) == 1, found
    assert osp.samefile(found[0], osp.join(split_dir, 'iter_4.pth'))
    assert 'resumed epoch: 0, iter: 4' in log
    trained = sorted(
        int(it) for it in re.findall(r'Iter\(train\) \[\s*(\d+)/8\]', log))
    assert trained == [5, 6, 7, 8], trained
    killed, resumed = run_scalars(split_dir)
    assert sorted(it for it in killed if 'loss' in killed[it]) == [
        1, 2, 3, 4]
    assert sorted(it for it in resumed if 'loss' in resumed[it]) == [
        5, 6, 7, 8]
    # ... and went on exactly as the uninterrupted run.
    full = read_scalars(osp.join(smoke_runs['cwd'], 'full'))
    split = read_scalars(split_dir)
    for it in range(1, 9):
        assert split[it]['lr'] == full[it]['lr'], it
        assert split[it]['loss'] == pytest.approx(
            full[it]['loss'], rel=0, abs=1e-7), it
    assert split[8]['smoke/PSNR'] == pytest.approx(
        full[8]['smoke/PSNR'], abs=1e-4)


def test_test_tool_reports_metrics(smoke_runs, repo_root):
    cwd = smoke_runs['cwd']
    out = osp.join(cwd, 'metrics.json')
    run_tool(repo_root, cwd, osp.join(repo_root, 'tools', 'test.py'),
             smoke_runs['cfg'], osp.join('full', 'iter_8.pth'), '--work-dir',
             'test_run', '--out', out)
    with open(out) as f:
        metrics = json.load(f)
    full = read_scalars(osp.join(cwd, 'full'))
    assert metrics['smoke/PSNR'] == pytest.approx(full[8]['smoke/PSNR'],
                                                  abs=1e-4)
    assert 0 < metrics['smoke/SSIM'] <= 1


@pytest.mark.skipif(shutil.which('mim') is None, reason='openmim missing')
def test_mim_train_runs_the_packaged_tool(smoke_runs):
    cwd = smoke_runs['cwd']
    proc = subprocess.run([
        'mim', 'train', 'sler_ir_mm', smoke_runs['cfg'], '--work-dir',
        'mim_run', '--cfg-options', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2'
    ],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(cwd, 'mim_run', 'iter_2.pth'))


@pytest.mark.skipif(shutil.which('mim') is None, reason='openmim missing')
def test_mim_test_runs_the_packaged_tool(smoke_runs):
    cwd = smoke_runs['cwd']
    proc = subprocess.run([
        'mim', 'test', 'sler_ir_mm', smoke_runs['cfg'], '--checkpoint',
        osp.join('full', 'iter_8.pth'), '--work-dir', 'mim_test_run'
    ],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'smoke/PSNR' in proc.stdout + proc.stderr
