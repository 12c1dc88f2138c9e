"""tools/dist_train.sh with 2 CPU processes (gloo), both stages."""
import os
import os.path as osp
import socket
import subprocess

import torch
from make_smoke_pairs import make_smoke_pairs
from tool_runner import read_scalars


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_cpu_processes_train_both_stages(repo_root, tmp_path):
    cwd = str(tmp_path)
    make_smoke_pairs(osp.join(cwd, 'data', 'smoke_pairs'), size=32)
    env = dict(os.environ, PORT=str(free_port()), CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run([
        'bash', osp.join(repo_root, 'tools', 'dist_train.sh'),
        osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py'), '2',
        '--work-dir', 'work', '--cfg-options',
        'train_dataloader.batch_size=2'
    ],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert 'gloo' in out
    assert 'RoutingStageSwitchHook: stage 2 from epoch 2' in out
    state = torch.load(osp.join(cwd, 'work', 'epoch_4.pth'),
                       map_location='cpu', weights_only=False)
    assert int(state['state_dict']['_stage']) == 2
    scalars = read_scalars(osp.join(cwd, 'work'))
    assert any('noise/PSNR' in r for r in scalars.values())
