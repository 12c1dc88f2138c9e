"""tools/test.py's results table (results.md / results.json) with the
HarmRate metric, on the smoke data's degraded inputs (no model)."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
from make_smoke_pairs import make_smoke_pairs
from tool_runner import load_tool

CONFIG = """
_base_ = [{smoke!r}]
test_evaluator = [[
    dict(type='PSNR', prefix=task),
    dict(type='SSIM', prefix=task),
    dict(type='HarmRate', prefix=task),
] for task in ('noise', 'dark')]
"""


def write_config(repo_root, tmp_path, num_val: int) -> str:
    """The smoke config with HarmRate, and its data, in tmp_path."""
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=1,
                     num_val=num_val, size=24)
    smoke = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    config = tmp_path / 'harm.py'
    config.write_text(CONFIG.format(smoke=smoke))
    return str(config)


def test_degraded_inputs_table(repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write_config(repo_root, tmp_path, num_val=2)
    test_tool = load_tool(repo_root, osp.join('tools', 'test.py'))
    metrics = test_tool.main(
        [str(config), '--degraded-inputs', '--work-dir', 'w'])
    # The prediction is the input: nothing harmed, nothing lost.
    for task in ('noise', 'dark'):
        assert metrics[f'{task}/HarmRate'] == 0
        assert metrics[f'{task}/WorstLoss'] == 0
        assert metrics[f'{task}/N'] == 2
        assert metrics[f'{task}/InputPSNR'] == pytest.approx(
            metrics[f'{task}/PSNR'], abs=1e-4)
    results, = glob.glob(osp.join('w', '*', 'results.json'))
    with open(results) as f:
        summary = json.load(f)
    assert summary['sets']['dark']['HarmRate'] == 0
    assert summary['average']['N'] == 4
    assert summary['metrics'] == metrics
    with open(osp.join(osp.dirname(results), 'results.md')) as f:
        lines = f.read().splitlines()
    assert lines[2].startswith('| Set | Images | PSNR ± SE | SSIM | '
                               'Input PSNR | Harm rate | Worst loss (dB) |')
    noise = metrics['noise/PSNR']
    assert lines[4].startswith(f'| noise | 2 | {noise:.2f} ± ')
    assert lines[4].endswith(f'| {noise:.2f} | 0.0% | +0.00 |')
    assert lines[6].startswith('| Average | 4 |')


def test_two_processes_score_every_image_once(repo_root, tmp_path,
                                              monkeypatch):
    """With 2 processes (gloo) and 3 images per set, the per-image values
    of both are gathered (the sampler's padding image dropped), and the
    scores equal a single process's."""
    monkeypatch.chdir(tmp_path)
    config = write_config(repo_root, tmp_path, num_val=3)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=os.pathsep.join(
                   [repo_root, os.environ.get('PYTHONPATH', '')]))
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = str(tmp_path / 'dist.json')
    proc = subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={port}',
        osp.join(repo_root, 'tools', 'test.py'), config, '--launcher',
        'pytorch', '--degraded-inputs', '--work-dir', 'dist', '--out', out
    ], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    with open(out) as f:
        dist = json.load(f)
    test_tool = load_tool(repo_root, osp.join('tools', 'test.py'))
    single = test_tool.main([config, '--degraded-inputs', '--work-dir', 'w'])
    assert dist['noise/N'] == 3
    assert dist == pytest.approx(single)
