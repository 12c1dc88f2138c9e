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
    # No GPU here: pretend there is one. The config --amp writes must be one
    # MMEngine builds into an AMP wrapper (loss scaling) around the config's
    # own optimizer, as the Runner does; without --amp, a plain wrapper.
    from mmengine.optim import (AmpOptimWrapper, OptimWrapper,
                                build_optim_wrapper)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    model = torch.nn.Linear(2, 2)

    def wrapper(*flags):
        cfg = train_tool.build_config(
            train_tool.parse_args([osp.join(repo_root, SMOKE_CFG), *flags]))
        return build_optim_wrapper(model, cfg.optim_wrapper)

    plain = wrapper()
    assert type(plain) is OptimWrapper
    amp = wrapper('--amp')
    assert isinstance(amp, AmpOptimWrapper)
    assert isinstance(amp.loss_scaler, torch.amp.GradScaler)
    assert amp.loss_scaler.is_enabled()
    # 'dynamic': GradScaler's default initial scale, adapted during training.
    assert amp.loss_scaler.get_scale() == 2.0**16
    assert type(amp.optimizer) is type(plain.optimizer)
    assert amp.optimizer.defaults == plain.optimizer.defaults


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


def test_stage_flags_set_the_schedule(train_tool, repo_root):
    mini = osp.join(repo_root, 'configs', 'sler_ir_mini_5task.py')
    from sler_ir_mm.engine.schedules import read_stage_epochs
    cfg = train_tool.build_config(
        train_tool.parse_args([mini, '--stage2-batch-size', '8']))
    assert tuple(read_stage_epochs(cfg)) == (6, 16, 8, 8)
    cfg = train_tool.build_config(
        train_tool.parse_args(
            [mini, '--stage-epochs', '2', '3', '--stage2-batch-size', '4']))
    assert tuple(read_stage_epochs(cfg)) == (2, 3, 8, 4)
    assert cfg.train_cfg.max_epochs == 5
    with pytest.raises(SystemExit, match='--stage2-batch-size'):
        train_tool.build_config(
            train_tool.parse_args([mini, '--stage2-batch-size', '0']))
    with pytest.raises(SystemExit, match='--stage2-batch-size'):
        train_tool.build_config(
            train_tool.parse_args([osp.join(repo_root, SMOKE_CFG),
                                   '--stage2-batch-size', '4']))


def test_pretraining_is_a_step_before_the_model_is_built(
        train_tool, repo_root, tmp_path, monkeypatch):
    """A config with a pretrained encoder whose file is missing: train.py
    pretrains it first (its own step), then builds the model, which only
    reads the file."""
    from mmagic.registry import MODELS

    from sler_ir_mm.models.encoders.encoder_recipe import cached_encoder_path
    monkeypatch.chdir(tmp_path)
    recipe = dict(
        name='tiny',
        encoder=dict(type='CLIPImageEncoder',
                     vision_cfg=dict(image_size=32, layers=1, width=16,
                                     patch_size=8, head_width=8),
                     embed_dim=8, random_init=True),
        data=dict(type='SyntheticDegradationDataset',
                  photos=['camera', 'coins'], crop_size=40, view_size=32),
        iters=2, batch_size=4, lr=1e-3, weight_decay=0.0, warmup_iters=1,
        seed=0, val_samples=4, save_interval=1)
    smoke = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    config = tmp_path / 'tiny_pretrained.py'
    config.write_text(
        f'_base_ = [{smoke!r}]\n'
        "model = dict(degradation_encoder=dict(_delete_=True, "
        f"type='PretrainedDegradationEncoder', recipe={recipe!r}, "
        "cache_dir='cache'))\n")
    built = []

    class Built(Exception):
        pass

    class Runner:

        @staticmethod
        def from_cfg(cfg):
            built.append(MODELS.build(cfg.model))
            raise Built

    monkeypatch.setattr(train_tool, 'Runner', Runner)
    with pytest.raises(Built):
        train_tool.main([str(config), '--work-dir', str(tmp_path / 'work')])
    assert osp.isfile(cached_encoder_path(recipe, 'cache'))
    assert built[0].degradation_encoder.frozen
