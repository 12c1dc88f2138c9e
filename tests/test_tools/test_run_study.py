"""tools/analysis_tools/run_study.py: its arguments and commands, and a
whole (tiny) study on the smoke data, reused and refused when it should
(the library, sler_ir_mm/study, has its unit tests in tests/test_study)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from forked_tools import ForkedPopen, ToolServer
from make_smoke_pairs import make_smoke_pairs
from tool_runner import load_tool

from sler_ir_mm.study import StudyBudgetError, StudyRow

TOOL = osp.join('tools', 'analysis_tools', 'run_study.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def test_default_rows_are_the_issues_list(tool):
    args = tool.parse_args([])
    assert args.rows == [
        'degraded_input', 'restormer', 'sler_ir', 'wo_glgf',
        'classifier_l1_cls', 'c2', 'c4'
    ]
    assert args.seeds == [0] and args.out_dir == args.work_dir
    assert tool.parse_args(['--rows',
                            'all']).rows == [r.name for r in tool.ROWS]
    assert tool.parse_args(['--seed', '4']).seeds == [4]
    # The composite study's rows (issue 22) are there, run when named.
    assert {'restormer_cdd', 'sler_ir_cdd', 'classifier_l1_cls_cdd'
            } <= set(tool.parse_args(['--rows', 'all']).rows)


@pytest.mark.parametrize('argv, message', [
    (['--rows', 'c5'], 'unknown'),
    (['--rows', 'c2', 'c2'], 'twice'),
    (['--seeds', '1', '1'], 'twice'),
    (['--stage1-epochs', '0', '--stage2-epochs', '1'
      ], 'stage1-epochs must be >= 1'),
    (['--stage1-epochs', '2'], 'together'),
])
def test_bad_arguments(tool, argv, message, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(argv)
    assert message in capsys.readouterr().err


def test_dry_run_prints_equal_budget_commands(tool, repo_root, capsys,
                                              monkeypatch):
    monkeypatch.chdir(repo_root)
    work = 'work_dirs/_run_study_dry_run'
    assert tool.main([
        '--dry-run', '--work-dir', work, '--rows', 'restormer', 'c4',
        '--stage1-epochs', '2', '--stage2-epochs', '3', '--seeds', '7', '8'
    ]) == []
    printed = capsys.readouterr().out
    # The stage epochs through train.py's --stage-epochs (set_stage_epochs
    # finds the hook and the schedule), not through list indices.
    budget = '--stage-epochs 2 3 --cfg-options randomness.seed=7'
    assert ('python tools/train.py configs/restormer/restormer_mini_5task.py'
            f' --work-dir {work}/seed7/restormer ' + budget in printed)
    assert ('python tools/train.py configs/ablations/mini/'
            f'sler_ir_mini_5task_c4.py --work-dir {work}/seed8/c4 '
            '--stage-epochs 2 3 --cfg-options randomness.seed=8' in printed)
    assert ('python tools/test.py configs/ablations/mini/'
            f'sler_ir_mini_5task_c4.py {work}/seed7/c4/epoch_5.pth' in printed)
    assert 'route_stats.py configs/ablations/mini/sler_ir_mini_5task_c4.py' \
        in printed
    # No route statistics for a model that does not route.
    assert 'route_stats.py configs/restormer' not in printed
    assert not osp.exists(osp.join(repo_root, work))


def test_rows_of_another_length_in_epochs(tool, repo_root, capsys,
                                          monkeypatch):
    """The singles + mixes rows have half the epochs (the same iterations):
    run with their own epochs, refused under one --stage-epochs."""
    monkeypatch.chdir(repo_root)
    tool.main(['--dry-run', '--rows', 'sler_ir', 'sler_ir_cdd'])
    printed = capsys.readouterr().out
    assert 'work_dirs/study/seed0/sler_ir/epoch_22.pth' in printed
    assert 'work_dirs/study/seed0/sler_ir_cdd/epoch_11.pth' in printed
    with pytest.raises(ValueError, match='different stage epochs'):
        tool.main([
            '--dry-run', '--rows', 'sler_ir', 'sler_ir_cdd', '--stage1-epochs',
            '1', '--stage2-epochs', '1'
        ])


RESTORMER_SMOKE = """
_base_ = [{sler!r}]
model = dict(
    _delete_=True,
    type='BaseEditModel',
    generator=dict(type='Restormer', dim=8, num_blocks=(1, 1, 1, 1),
                   num_refinement_blocks=1, heads=(1, 1, 2, 2)),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.],
                           std=[255., 255., 255.]))
custom_hooks = [dict(type='RoutingStageSwitchHook', switch_epoch=2,
                     train_batch_size=8, switch_model_stage=False)]
model_wrapper_cfg = None
"""


@pytest.fixture(scope='module')
def tool_server():
    """One interpreter with the tools' libraries imported, forked for each
    command of the study (tests/helpers/forked_tools.py): the six commands
    then skip six ~10 s interpreter start-ups."""
    with ToolServer() as server:
        yield server


def test_a_tiny_study_end_to_end(tool, repo_root, tmp_path, monkeypatch,
                                 capsys, tool_server):
    """Three rows on the smoke data: the runs in the work dir, the summary
    in the results folder, reuse of the finished rows, and refusal to mix
    budgets. The rows' commands (tools/test.py for the degraded inputs;
    tools/train.py and test.py for Restormer; train.py, test.py and
    route_stats.py for SLER-IR) run as processes forked from
    ``tool_server``."""
    monkeypatch.chdir(tmp_path)
    popen = ForkedPopen.on(tool_server)
    make_smoke_pairs(
        str(tmp_path / 'data' / 'smoke_pairs'),
        num_train=2,
        num_val=1,
        size=32)
    sler = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    restormer = tmp_path / 'restormer_smoke_two_stage.py'
    restormer.write_text(RESTORMER_SMOKE.format(sler=sler))
    monkeypatch.setattr(tool, 'ROWS', (
        StudyRow(
            'degraded_input',
            'Degraded input',
            sler,
            trained=False,
            routed=False),
        StudyRow(
            'restormer', 'Restormer', str(restormer), 'Table 2', routed=False),
        StudyRow('sler_ir', 'SLER-IR', sler, 'Table 2', baseline='restormer'),
    ))
    argv = [
        '--work-dir', 'runs', '--out-dir', 'results/smoke', '--stage1-epochs',
        '1', '--stage2-epochs', '1'
    ]
    results = tool.main(argv, popen=popen)
    assert [r['status'] for r in results] == ['done'] * 3
    degraded, plain, routed = results
    assert set(degraded['test']['sets']) == {'noise', 'dark'}
    # The "Degraded input" row scores the inputs themselves.
    for task in ('noise', 'dark'):
        assert degraded['test']['sets'][task]['PSNR'] == pytest.approx(
            input_psnr(str(tmp_path / 'data' / 'smoke_pairs'), task), abs=1e-3)
    assert 'params' not in degraded and 'routes' not in plain
    assert plain['params']['total'] == plain['params']['active']
    assert routed['params']['active'] < routed['params']['total']
    assert set(routed['routes']['sets']) == {'noise', 'dark'}
    assert routed['wall_s']['train'] > 0
    # Read from MMEngine's scalars: both stages, 2 epochs.
    assert routed['train']['epochs'] == 2 and routed['train']['iters'] > 0
    assert routed['train']['router']['router_min_center_angle'] > 0
    # Both trained rows ran the same budget: 2 epochs, switch after 1; the
    # runs are in the work dir, the summaries alone in the results folder.
    for name in ('restormer', 'sler_ir'):
        assert osp.isfile(tmp_path / 'runs' / 'seed0' / name / 'epoch_2.pth')
        assert not osp.exists(
            tmp_path / 'runs' / 'seed0' / name / 'epoch_3.pth')
    assert sorted(os.listdir(tmp_path / 'results' /
                             'smoke')) == ['summary.json', 'summary.md']
    with open(tmp_path / 'results' / 'smoke' / 'summary.json') as f:
        summary = json.load(f)
    assert [r['name'] for r in summary['rows']
            ] == ['degraded_input', 'restormer', 'sler_ir']
    assert summary['rows'][2]['margins']['baseline'] == 'restormer'
    text = (tmp_path / 'results' / 'smoke' / 'summary.md').read_text()
    assert 'python tools/train.py ' + sler in text
    assert 'stage 1 1 epochs at batch 4, stage 2 1 epochs at batch 8' in text
    assert osp.isfile(tmp_path / 'runs' / 'seed0' / 'study.md')
    capsys.readouterr()

    # A second run reuses every row.
    again = tool.main(argv, popen=popen)
    assert 'reused' in capsys.readouterr().out
    assert [r['test'] for r in again] == [r['test'] for r in results]

    # Another budget in the same work dir is refused, naming what changed.
    with pytest.raises(StudyBudgetError, match='stage2_epochs: 1 -> 2'):
        tool.main([
            '--work-dir', 'runs', '--stage1-epochs', '1', '--stage2-epochs',
            '2'
        ],
                  popen=popen)


def input_psnr(data_root, task):
    """Mean PSNR (MMagic's function, as the PSNR metric uses) of a smoke
    set's degraded val inputs against their ground truth."""
    from mmagic.evaluation.metrics.psnr import psnr
    folder = osp.join(data_root, task, 'val')
    names = sorted(os.listdir(osp.join(folder, 'input')))
    assert names
    return float(
        np.mean([
            psnr(
                cv2.imread(osp.join(folder, 'input', name)),
                cv2.imread(osp.join(folder, 'target', name))) for name in names
        ]))


def test_degraded_inputs_scores_the_inputs(repo_root, tmp_path, monkeypatch):
    """tools/test.py --degraded-inputs: the "Input" row. Each set's PSNR is
    that of its inputs against their ground truth, computed here."""
    monkeypatch.chdir(tmp_path)
    data_root = str(tmp_path / 'data' / 'smoke_pairs')
    make_smoke_pairs(data_root, num_train=1, num_val=2, size=24)
    test_tool = load_tool(repo_root, osp.join('tools', 'test.py'))
    sler = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    metrics = test_tool.main(
        [sler, '--degraded-inputs', '--work-dir',
         str(tmp_path / 'w')])
    expected = {
        task: input_psnr(data_root, task)
        for task in ('noise', 'dark')
    }
    # The sets differ (noise sigma 15 against 30 % brightness), so a set
    # scored as the other, or a prediction that is not the input, shows.
    assert abs(expected['noise'] - expected['dark']) > 5
    for task, value in expected.items():
        assert metrics[f'{task}/PSNR'] == pytest.approx(value, abs=1e-3)
