"""Argument handling of tools/train.py and tools/test.py (no training)."""
import os.path as osp

import pytest
import torch
from tool_runner import load_tool

SMOKE_CFG = osp.join('configs', 'smoke', 'restormer_smoke.py')


@pytest.fixture
def train_tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'train.py'))


@pytest.fixture
def test_tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'test.py'))


def test_default_work_dir_and_cfg_options(train_tool, repo_root):
    cfg = train_tool.build_config(
        train_tool.parse_args([
            osp.join(repo_root, SMOKE_CFG), '--cfg-options',
            'train_cfg.max_iters=3', 'default_hooks.logger.interval=2'
        ]))
    assert cfg.work_dir == osp.join('./work_dirs', 'restormer_smoke')
    assert cfg.train_cfg.max_iters == 3
    assert cfg.default_hooks.logger.interval == 2
    assert cfg.default_scope == 'mmagic'
    assert cfg.custom_imports.imports == ['sler_ir_mm']
    assert cfg.resume is False


def test_work_dir_flag_wins(train_tool, repo_root, tmp_path):
    cfg = train_tool.build_config(
        train_tool.parse_args(
            [osp.join(repo_root, SMOKE_CFG), '--work-dir',
             str(tmp_path)]))
    assert cfg.work_dir == str(tmp_path)


def test_resume_latest(train_tool, repo_root):
    cfg = train_tool.build_config(
        train_tool.parse_args([osp.join(repo_root, SMOKE_CFG), '--resume']))
    assert cfg.resume is True and cfg.load_from is None


def test_resume_from_checkpoint(train_tool, repo_root, tmp_path):
    ckpt = tmp_path / 'iter_4.pth'
    ckpt.write_bytes(b'')
    cfg = train_tool.build_config(
        train_tool.parse_args(
            [osp.join(repo_root, SMOKE_CFG), '--resume',
             str(ckpt)]))
    assert cfg.resume is True and cfg.load_from == str(ckpt)


def test_resume_from_missing_checkpoint(train_tool, repo_root, tmp_path):
    args = train_tool.parse_args([
        osp.join(repo_root, SMOKE_CFG), '--resume',
        str(tmp_path / 'nope.pth')
    ])
    with pytest.raises(SystemExit, match='nope.pth'):
        train_tool.build_config(args)


def test_missing_config(train_tool, tmp_path):
    with pytest.raises(SystemExit, match='config file not found'):
        train_tool.build_config(
            train_tool.parse_args([str(tmp_path / 'none.py')]))


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_amp_without_gpu_is_a_clear_error(train_tool, repo_root):
    args = train_tool.parse_args([osp.join(repo_root, SMOKE_CFG), '--amp'])
    with pytest.raises(SystemExit, match='--amp needs a CUDA'):
        train_tool.build_config(args)


def test_amp_switches_optim_wrapper(train_tool, repo_root, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = train_tool.build_config(
        train_tool.parse_args([osp.join(repo_root, SMOKE_CFG), '--amp']))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_test_tool_needs_checkpoint(test_tool, repo_root, tmp_path):
    args = test_tool.parse_args(
        [osp.join(repo_root, SMOKE_CFG),
         str(tmp_path / 'missing.pth')])
    with pytest.raises(SystemExit, match='checkpoint not found'):
        test_tool.build_config(args)


def test_launcher_choices(train_tool, repo_root):
    for launcher in ('none', 'pytorch', 'slurm'):
        args = train_tool.parse_args(
            [osp.join(repo_root, SMOKE_CFG), '--launcher', launcher])
        assert train_tool.build_config(args).launcher == launcher
