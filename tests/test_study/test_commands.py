"""sler_ir_mm.study.commands and budget: the commands of a row."""
import os.path as osp

import pytest

from sler_ir_mm.study import (StudyError, budget_changes, flatten_options,
                              format_command, route_stats_command, row_budget,
                              evaluation_command, train_command)

BUDGET = dict(
    stage1_epochs=2,
    stage2_epochs=3,
    seed=7,
    cfg_options=['train_dataloader.num_workers=2'])


def test_train_command_resumes_through_its_own_argument():
    fresh = train_command('c.py', 'w/r', BUDGET)
    assert fresh == [
        'python', 'tools/train.py', 'c.py', '--work-dir', 'w/r',
        '--cfg-options', 'randomness.seed=7', 'train_dataloader.num_workers=2'
    ]
    resumed = train_command('c.py', 'w/r', BUDGET, (2, 3), 'w/r/epoch_2.pth')
    assert resumed == [
        'python', 'tools/train.py', 'c.py', '--work-dir', 'w/r', '--resume',
        'w/r/epoch_2.pth', '--stage-epochs', '2', '3', '--cfg-options',
        'randomness.seed=7', 'train_dataloader.num_workers=2'
    ]


def test_test_and_route_commands():
    assert evaluation_command('c.py', 'w/r/test', 'w/r/epoch_5.pth') == [
        'python', 'tools/test.py', 'c.py', 'w/r/epoch_5.pth', '--work-dir',
        'w/r/test'
    ]
    assert evaluation_command('c.py', 'w/d/test', None, ['a=1']) == [
        'python', 'tools/test.py', 'c.py', '--degraded-inputs', '--work-dir',
        'w/d/test', '--cfg-options', 'a=1'
    ]
    assert route_stats_command('c.py', 'k.pth', 'w/r/routes') == [
        'python',
        osp.join('tools', 'analysis_tools', 'route_stats.py'), 'c.py', 'k.pth',
        '--out-dir', 'w/r/routes'
    ]
    assert format_command(['python', 'a b.py', 'x']) == "python 'a b.py' x"


def test_budget_of_a_config(repo_root):
    config = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    assert row_budget(config) == dict(
        stage1_epochs=2,
        stage2_epochs=2,
        stage1_batch_size=4,
        stage2_batch_size=8,
        seed=0,
        cfg_options=[])
    options = {'train_dataloader': {'num_workers': 1}, 'x': [1, 2]}
    budget = row_budget(config, 3, (1, 4), options)
    assert (budget['stage1_epochs'], budget['stage2_epochs'],
            budget['seed']) == (1, 4, 3)
    assert budget['cfg_options'] == flatten_options(options) == [
        'train_dataloader.num_workers=1', 'x=[1,2]'
    ]
    assert budget_changes(row_budget(config), budget) == [
        'stage1_epochs: 2 -> 1', 'stage2_epochs: 2 -> 4', 'seed: 0 -> 3',
        "cfg_options: [] -> ['train_dataloader.num_workers=1', 'x=[1,2]']"
    ]


def test_budget_of_a_config_without_two_stages(tmp_path):
    config = tmp_path / 'one_stage.py'
    config.write_text("train_cfg = dict(type='EpochBasedTrainLoop', "
                      "max_epochs=3)\n")
    with pytest.raises(StudyError, match='one_stage.py'):
        row_budget(str(config))
