"""tools/train.py refuses a load_from/--resume checkpoint that does not fit
the config's model, before any training step."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from mmagic.registry import MODELS
from mmengine.config import Config
from tool_runner import load_tool, run_tool

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')


@pytest.fixture(scope='module')
def train_tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'train.py'))


def smoke_model(repo_root, **generator):
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    cfg.model.generator.update(generator)
    return MODELS.build(cfg.model)


def save(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iter=0)),
               str(path))
    return str(path)


def test_other_num_experts_stops_before_training(repo_root, tmp_path):
    cwd = str(tmp_path)
    make_smoke_pairs(osp.join(cwd, 'data', 'smoke_pairs'), size=32)
    ckpt = save(smoke_model(repo_root, num_experts=4), tmp_path / 'c4.pth')
    log = run_tool(repo_root, cwd, osp.join(repo_root, 'tools', 'train.py'),
                   osp.join(repo_root, CFG), '--work-dir', 'work',
                   '--cfg-options', f'load_from={ckpt}', expect_code=1)
    print(log[log.index('load_from: '):])  # what the user sees
    assert f'load_from: checkpoint {ckpt} does not match the model' in log
    assert ('the checkpoint has C=4 experts per layer, the config builds '
            'num_experts=3: set model.generator.num_experts=4') in log
    assert 'Nothing was loaded and training did not start' in log
    assert '--no-strict-load' in log
    assert 'Traceback' not in log
    # No iteration ran: nothing logged for training, nothing saved.
    assert 'Epoch(train)' not in log
    assert not glob.glob(osp.join(cwd, 'work', '*.pth'))


def fake_runner(model, work_dir):
    return SimpleNamespace(model=model, work_dir=str(work_dir))


def test_resume_checks_the_latest_checkpoint(repo_root, train_tool,
                                             tmp_path):
    model = smoke_model(repo_root)
    latest = save(smoke_model(repo_root, num_experts=2),
                  tmp_path / 'epoch_2.pth')
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(latest)
    cfg = Config(dict(load_from=None, resume=True))
    with pytest.raises(SystemExit) as err:
        train_tool.check_checkpoint(fake_runner(model, tmp_path), cfg)
    msg = str(err.value)
    assert msg.startswith(f'--resume: checkpoint {latest} does not match')
    assert 'C=2 experts per layer' in msg
    # The checkpoint of the same config passes; no checkpoint, nothing to do.
    save(model, latest)
    train_tool.check_checkpoint(fake_runner(model, tmp_path), cfg)
    train_tool.check_checkpoint(
        fake_runner(model, tmp_path / 'empty'),
        Config(dict(load_from=None, resume=False)))


def test_no_strict_load_flag(train_tool, repo_root):
    args = train_tool.parse_args([osp.join(repo_root, CFG)])
    assert args.no_strict_load is False
    args = train_tool.parse_args(
        [osp.join(repo_root, CFG), '--no-strict-load'])
    assert args.no_strict_load is True


def test_test_tool_refuses_a_mismatching_checkpoint(repo_root, tmp_path):
    test_tool = load_tool(repo_root, osp.join('tools', 'test.py'))
    ckpt = save(smoke_model(repo_root, num_experts=4), tmp_path / 'c4.pth')
    # Stops after building the model, before any data is read.
    with pytest.raises(SystemExit) as err:
        test_tool.main([
            osp.join(repo_root, CFG), ckpt, '--work-dir',
            str(tmp_path / 'work')
        ])
    msg = str(err.value)
    assert msg.startswith(f'checkpoint {ckpt} does not match the model')
    assert 'C=4 experts per layer' in msg
    assert msg.endswith('Nothing was evaluated. To evaluate with only the '
                        'matching weights on purpose, pass --no-strict-load.')
    assert test_tool.parse_args(
        [osp.join(repo_root, CFG), ckpt, '--no-strict-load']).no_strict_load
