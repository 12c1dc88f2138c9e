"""A user's error ends a tool with one line and exit code 1, without a
traceback unless SLER_IR_TRACEBACK is set; a refused checkpoint offers
--no-strict-load only where loading the matching weights could help."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from tool_runner import load_tool, run_tool

from sler_ir_mm.engine import (CheckpointMismatchError,
                               UnreadableCheckpointError)
from sler_ir_mm.utils.cli import TRACEBACK_ENV, run_main

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')


@pytest.fixture(scope='module')
def train_tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'train.py'))


@pytest.fixture(scope='module')
def test_tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'test.py'))


@pytest.fixture
def no_traceback(monkeypatch):
    monkeypatch.delenv(TRACEBACK_ENV, raising=False)


def save_model(repo_root, path, **generator):
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    cfg.model.generator.update(generator)
    torch.save(
        dict(state_dict=MODELS.build(cfg.model).state_dict()), str(path))
    return str(path)


@pytest.mark.parametrize('traceback', [False, True])
def test_missing_data_folder(repo_root, tmp_path, monkeypatch, traceback):
    """No data under the config's data_root: the folder, in one line."""
    if traceback:
        monkeypatch.setenv(TRACEBACK_ENV, '1')
    else:
        monkeypatch.delenv(TRACEBACK_ENV, raising=False)
    log = run_tool(
        repo_root,
        str(tmp_path),
        osp.join(repo_root, 'tools', 'train.py'),
        osp.join(repo_root, CFG),
        '--work-dir',
        'work',
        expect_code=1)
    missing = "No such file or directory: 'data/smoke_pairs/noise/train/input'"
    assert missing in log
    if traceback:
        assert 'Traceback (most recent call last)' in log
        assert f'FileNotFoundError: [Errno 2] {missing}' in log
    else:
        assert f'error: [Errno 2] {missing}' in log
        assert 'Traceback' not in log


def test_refused_checkpoint_with_the_traceback(repo_root, tmp_path,
                                               monkeypatch):
    # Without the variable: tests/test_tools/test_train_checkpoint_preflight.
    monkeypatch.setenv(TRACEBACK_ENV, '1')
    ckpt = save_model(repo_root, tmp_path / 'c4.pth', num_experts=4)
    log = run_tool(
        repo_root,
        str(tmp_path),
        osp.join(repo_root, 'tools', 'train.py'),
        osp.join(repo_root, CFG),
        '--work-dir',
        'work',
        '--cfg-options',
        f'load_from={ckpt}',
        expect_code=1)
    assert 'Traceback (most recent call last)' in log
    assert 'CheckpointMismatchError: checkpoint' in log
    assert 'C=4 experts per layer' in log
    assert 'Epoch(train)' not in log


def test_missing_clip_weights(repo_root, train_tool, tmp_path, capsys,
                              no_traceback):
    """A CLIP tower whose weight file is missing: raised while the Runner
    builds the model, printed by run_main."""
    argv = [
        osp.join(repo_root, CFG), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        'model.degradation_encoder.random_init=False',
        f'model.degradation_encoder.checkpoint={tmp_path}/clip.pt'
    ]
    with pytest.raises(SystemExit) as exit_:
        run_main(lambda: train_tool.main(argv))
    assert exit_.value.code == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith('error: ')
    assert f"checkpoint file '{tmp_path}/clip.pt' does not exist" in err


def not_a_checkpoint(tmp_path, kind):
    path = tmp_path / f'{kind}.pth'
    if kind == 'text':
        path.write_text('not a checkpoint')
    else:  # a PyTorch file that holds no state dict
        torch.save([1, 2, 3], str(path))
    return str(path)


@pytest.mark.parametrize('kind', ['text', 'list'])
def test_test_tool_refuses_a_file_that_is_no_checkpoint(
        repo_root, test_tool, tmp_path, kind, no_traceback):
    ckpt = not_a_checkpoint(tmp_path, kind)
    with pytest.raises(SystemExit) as err:
        test_tool.main([
            osp.join(repo_root, CFG), ckpt, '--work-dir',
            str(tmp_path / 'work')
        ])
    msg = str(err.value)
    assert ckpt in msg
    assert msg.endswith('\nNothing was evaluated.')
    # Loading "only the matching weights" of a file without weights
    # cannot help.
    assert '--no-strict-load' not in msg


@pytest.mark.parametrize('kind', ['text', 'list'])
def test_train_tool_refuses_a_file_that_is_no_checkpoint(
        repo_root, train_tool, tmp_path, kind, monkeypatch, no_traceback):
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    model = MODELS.build(cfg.model)
    runner = SimpleNamespace(model=model, work_dir=str(tmp_path))
    ckpt = not_a_checkpoint(tmp_path, kind)
    settings = Config(dict(load_from=ckpt, resume=False))
    with pytest.raises(SystemExit) as err:
        train_tool.check_checkpoint(runner, settings)
    msg = str(err.value)
    assert msg.startswith('load_from: ')
    assert ckpt in msg and '--no-strict-load' not in msg
    assert msg.endswith('Nothing was loaded and training did not start.')
    # With the variable, the error itself, for its traceback.
    monkeypatch.setenv(TRACEBACK_ENV, '1')
    with pytest.raises(UnreadableCheckpointError):
        train_tool.check_checkpoint(runner, settings)
    # A mismatching checkpoint still offers --no-strict-load (and, with
    # the variable, is raised as the mismatch it is).
    other = save_model(repo_root, tmp_path / 'c2.pth', num_experts=2)
    settings.load_from = other
    with pytest.raises(CheckpointMismatchError) as mismatch:
        train_tool.check_checkpoint(runner, settings)
    assert not isinstance(mismatch.value, UnreadableCheckpointError)
    monkeypatch.delenv(TRACEBACK_ENV)
    with pytest.raises(SystemExit, match='pass --no-strict-load'):
        train_tool.check_checkpoint(runner, settings)


def test_stage_epochs_flag(repo_root, train_tool):
    args = train_tool.parse_args([
        osp.join(repo_root, CFG), '--stage-epochs', '1', '3', '--cfg-options',
        'train_cfg.max_epochs=9'
    ])
    cfg = train_tool.build_config(args)
    assert cfg.train_cfg.max_epochs == 4
    assert cfg.param_scheduler.periods == [1, 3]
    assert [
        h.switch_epoch for h in cfg.custom_hooks
        if h.type == 'RoutingStageSwitchHook'
    ] == [1]
    plain = osp.join(repo_root, 'configs', 'smoke', 'restormer_smoke.py')
    with pytest.raises(
            SystemExit,
            match='--stage-epochs: the stage epochs '
            'need exactly one RoutingStageSwitchHook'):
        train_tool.build_config(
            train_tool.parse_args([plain, '--stage-epochs', '1', '1']))


@pytest.mark.parametrize('tool', [
    'train.py', 'test.py', 'restore_images.py',
    'pretrain_degradation_encoder.py', 'analysis_tools/route_stats.py',
    'analysis_tools/run_study.py', 'misc/check_dataset.py',
    'misc/build_mini_benchmark.py'
])
def test_the_help_names_the_variable(repo_root, tool, capsys):
    module = load_tool(repo_root, osp.join('tools', tool))
    with pytest.raises(SystemExit):
        module.parse_args(['--help'])
    assert f'{TRACEBACK_ENV}=1' in capsys.readouterr().out
