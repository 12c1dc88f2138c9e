"""tools/analysis_tools/encoder_separability.py: how well the router's
input tells the tasks apart (smoke model, untrained)."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from make_smoke_pairs import make_smoke_pairs
from tool_runner import load_tool

TOOL = osp.join('tools', 'analysis_tools', 'encoder_separability.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def test_nearest_mean_accuracy(tool):
    # Two tight clusters: every left-out row is nearest its own mean.
    a = F.normalize(
        torch.tensor([[1.0, 0.1], [1.0, -0.1], [1.0, 0.0]]), dim=-1)
    b = F.normalize(
        torch.tensor([[0.1, 1.0], [-0.1, 1.0], [0.0, 1.0]]), dim=-1)
    feats, labels = torch.cat([a, b]), ['x'] * 3 + ['y'] * 3
    assert tool.nearest_mean_accuracy(feats, labels) == 1.0
    # Labels that do not follow the clusters.
    mixed = ['x', 'y', 'x', 'y', 'x', 'y']
    assert tool.nearest_mean_accuracy(feats, mixed) < 1.0
    means = tool.class_means(feats, labels)
    assert tool.accuracy_per_task(feats, labels, means) == dict(x=1.0, y=1.0)
    # A task without a mean is left out.
    assert tool.accuracy_per_task(feats, ['x'] * 3 + ['z'] * 3, means) == \
        dict(x=1.0)


def test_on_the_smoke_model(tool, repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_smoke_pairs(
        str(tmp_path / 'data' / 'smoke_pairs'),
        num_train=2,
        num_val=3,
        size=40)
    cfg = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    out = str(tmp_path / 'sep.json')
    result = tool.main(
        [cfg, 'none', '--per-task', '4', '--out', out, '--device', 'cpu'])
    with open(out) as f:
        assert json.load(f) == result
    for key in ('train_probe', 'test', 'test_by_train_means'):
        assert 0 <= result[key] <= 1
    assert list(result['test_by_train_means_per_task']) == ['noise', 'dark']


def test_bad_arguments(tool, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(['c.py', 'none', '--per-task', '1'])
    assert '--per-task must be >= 2' in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        tool.main(
            [osp.join('configs', 'smoke', 'sler_ir_smoke.py'), 'missing.pth'])
