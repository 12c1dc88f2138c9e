"""tools/analysis_tools/benchmark_train_step.py on the smoke configs (CPU):
it times both models in both stages and at each inference size."""
import os.path as osp

import pytest
from tool_runner import load_tool

TOOL = osp.join('tools', 'analysis_tools', 'benchmark_train_step.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def test_times_both_models(tool, repo_root, capsys):
    smoke = osp.join(repo_root, 'configs', 'smoke')
    rows = tool.main([
        '--config', osp.join(smoke, 'sler_ir_smoke.py'), '--baseline',
        osp.join(smoke, 'restormer_smoke.py'), '--sizes', '24',
        '--batch-sizes', '2', '3', '--patch', '16', '--steps', '1',
        '--rounds', '1'
    ])
    assert [r['what'] for r in rows] == [
        'train step, stage 1, batch 2 x 16^2',
        'train step, stage 2, batch 3 x 16^2', 'inference 24 x 24, 1 image'
    ]
    assert all(r['model'] > 0 and r['baseline'] > 0 for r in rows)
    assert '| train step, stage 2, batch 3 x 16^2 |' in capsys.readouterr().out


def test_budget_and_weights_come_from_the_config(tool, repo_root):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo_root, 'configs', 'sler_ir_5task.py'))
    assert tool.training_budget(cfg) == (128, 10, 20)
    model = tool.random_weights(cfg.model)
    enc = model['degradation_encoder']
    assert 'checkpoint' not in enc and enc['random_init'] is True
    # The config itself is left alone.
    assert cfg.model.degradation_encoder.checkpoint
    # A pretrained encoder: its recipe's tower, random and frozen, so no
    # pretraining is needed to time the model.
    mini = Config.fromfile(
        osp.join(repo_root, 'configs', 'sler_ir_mini_5task.py'))
    enc = tool.random_weights(mini.model)['degradation_encoder']
    assert enc == dict(mini.model.degradation_encoder.recipe.encoder,
                       random_init=True, frozen=True)


def test_bad_arguments(tool, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(['--steps', '0'])
    assert '--steps must be >= 1' in capsys.readouterr().err
