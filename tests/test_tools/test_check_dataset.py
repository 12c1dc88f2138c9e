"""tools/misc/check_dataset.py on the smoke data, clean and broken."""
import importlib.util
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from make_smoke_pairs import make_smoke_pairs
from tool_runner import run_tool

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
TOOL = osp.join('tools', 'misc', 'check_dataset.py')


@pytest.fixture
def tool(repo_root):
    spec = importlib.util.spec_from_file_location(
        'tool_check_dataset', osp.join(repo_root, TOOL))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def smoke_root(tmp_path, monkeypatch):
    """The smoke config reads data/smoke_pairs relative to the cwd."""
    monkeypatch.chdir(tmp_path)
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=2,
                     num_val=1, size=16)
    return tmp_path / 'data' / 'smoke_pairs'


def test_clean_tree_passes(tool, repo_root, smoke_root, capsys):
    assert tool.main([osp.join(repo_root, CFG)]) == 0
    out = capsys.readouterr().out
    for split in ('train', 'val', 'test'):
        assert f'{split}: 2 dataset(s)' in out
    assert '| noise   | data/smoke_pairs: img=noise/train/input, ' \
        'gt=noise/train/target | 2       | 0        |' in out
    assert '(same as val_dataloader[1].dataset)' in out
    assert out.rstrip().endswith('All 6 dataset(s) OK.')


def test_broken_tree_names_each_file(repo_root, smoke_root):
    train_gt = smoke_root / 'noise' / 'train' / 'target' / '0001.png'
    os.remove(train_gt)
    truncated = smoke_root / 'noise' / 'train' / 'input' / '0000.png'
    with open(truncated, 'r+b') as f:
        f.truncate(60)
    small_gt = smoke_root / 'dark' / 'val' / 'target' / '0000.png'
    cv2.imwrite(str(small_gt), np.zeros((12, 16, 3), np.uint8))
    shutil.rmtree(smoke_root / 'dark' / 'train')

    # A subprocess, for the real exit code.
    out = run_tool(repo_root, str(smoke_root.parent.parent),
                   osp.join(repo_root, TOOL), osp.join(repo_root, CFG),
                   expect_code=1)
    assert 'data/smoke_pairs/noise/train/target/0001.png: file not found: ' \
        'no clean image for data/smoke_pairs/noise/train/input/0001.png' in out
    assert 'data/smoke_pairs/noise/train/input/0000.png: cannot decode' in out
    assert 'data/smoke_pairs/dark/val/target/0000.png: size mismatch: ' \
        'clean image is 12x16 (HxW)' in out
    assert 'cannot build the dataset: FileNotFoundError' in out
    assert 'data/smoke_pairs/dark/train/input' in out
    assert '4 problem(s) in 4 of 6 dataset(s)' in out
    assert 'is not a meta file' not in out


def test_no_decode_and_splits(tool, repo_root, smoke_root, capsys):
    with open(smoke_root / 'noise' / 'val' / 'input' / '0000.png',
              'r+b') as f:
        f.truncate(60)
    os.remove(smoke_root / 'dark' / 'val' / 'target' / '0000.png')
    cfg = osp.join(repo_root, CFG)
    # Not decoding: only the missing file.
    assert tool.main([cfg, '--splits', 'val', '--no-decode']) == 1
    out = capsys.readouterr().out
    assert 'train:' not in out and 'test:' not in out
    assert 'dark/val/target/0000.png: file not found' in out
    assert 'cannot decode' not in out
    assert tool.main([cfg, '--splits', 'test', '--workers', '1']) == 1
    assert 'noise/val/input/0000.png: cannot decode' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='config file not found'):
        tool.main(['missing.py'])
