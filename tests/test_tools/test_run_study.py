"""tools/analysis_tools/run_study.py: rows, commands, the table, and a
whole (tiny) study on the smoke data, reused and refused when it should."""
import json
import os
import os.path as osp
import subprocess
import sys
import types

import cv2
import numpy as np
import pytest
from forked_tools import ForkedPopen, ToolServer
from make_smoke_pairs import make_smoke_pairs
from tool_runner import load_tool

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
    assert tool.parse_args(['--rows', 'all']).rows == [
        r.name for r in tool.ROWS
    ]


@pytest.mark.parametrize('argv, message', [
    (['--rows', 'c5'], 'unknown'),
    (['--rows', 'c2', 'c2'], 'twice'),
    (['--stage1-epochs', '0'], 'stage1-epochs must be >= 1'),
])
def test_bad_arguments(tool, argv, message, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(argv)
    assert message in capsys.readouterr().err


def test_every_row_config_is_shipped(tool, repo_root):
    for row in tool.ROWS:
        assert osp.isfile(osp.join(repo_root, row.config)), row


def test_the_rows_are_the_metafile_s(tool, repo_root):
    """Every model of metafile.yml with a Study entry is a row, with its
    config, in the file's order; degraded_input scores the inputs of the
    sler_ir row's data."""
    import yaml
    with open(osp.join(repo_root, 'metafile.yml')) as f:
        models = [m for m in yaml.safe_load(f)['Models'] if m.get('Study')]
    rows = tool.ROWS
    assert [(r.name, r.config) for r in rows[1:]] == [
        (m['Study']['Row'], m['Config']) for m in models
    ]
    assert rows[0] == tool.Row('degraded_input', 'Degraded input',
                               tool.row_by_name('sler_ir').config, '-',
                               trained=False, routed=False)
    assert [r.name for r in rows if not r.routed] == [
        'degraded_input', 'restormer'
    ]
    assert tool.row_by_name('wo_glgf').paper == 'Table 4'
    assert tool.row_by_name('sler_ir').label == \
        'SLER-IR (C=3, GLGF, L1 + L_HC)'


def test_a_metafile_without_good_study_rows(tool, tmp_path):
    def metafile(*studies):
        path = tmp_path / 'metafile.yml'
        path.write_text(json.dumps(dict(Models=[
            dict(Name=f'm{i}', Config=f'c{i}.py', Study=study)
            for i, study in enumerate(studies)
        ])))
        return str(path)

    rows = tool.load_rows(metafile(dict(Row='sler_ir', Label='S'),
                                   dict(Row='x', Label='X', Default=False)))
    assert [(r.name, r.config, r.default) for r in rows] == [
        ('degraded_input', 'c0.py', True), ('sler_ir', 'c0.py', True),
        ('x', 'c1.py', False)
    ]
    with pytest.raises(ValueError, match="'m1' has no 'Label'"):
        tool.load_rows(metafile(dict(Row='sler_ir', Label='S'),
                                dict(Row='x')))
    with pytest.raises(ValueError, match='distinct names'):
        tool.load_rows(metafile(dict(Row='sler_ir', Label='S'),
                                dict(Row='sler_ir', Label='T')))
    with pytest.raises(ValueError, match="include 'sler_ir'"):
        tool.load_rows(metafile(dict(Row='x', Label='X')))


def test_dry_run_prints_equal_budget_commands(tool, repo_root, capsys,
                                              monkeypatch):
    monkeypatch.chdir(repo_root)
    # An out-dir without checkpoints: the test commands name epoch_5.pth.
    out = 'work_dirs/_run_study_dry_run'
    assert tool.main([
        '--dry-run', '--out-dir', out, '--rows', 'restormer', 'c4',
        '--stage1-epochs', '2',
        '--stage2-epochs', '3', '--seed', '7'
    ]) == []
    printed = capsys.readouterr().out
    # The stage epochs through train.py's --stage-epochs (set_stage_epochs
    # finds the hook and the schedule), not through list indices.
    budget = '--stage-epochs 2 3 --cfg-options randomness.seed=7'
    assert ('python tools/train.py configs/restormer/restormer_mini_5task.py'
            f' --work-dir {out}/restormer ' + budget in printed)
    assert ('python tools/train.py configs/ablations/mini/'
            f'sler_ir_mini_5task_c4.py --work-dir {out}/c4 ' + budget
            in printed)
    assert 'custom_hooks' not in printed
    assert ('python tools/test.py configs/ablations/mini/'
            f'sler_ir_mini_5task_c4.py {out}/c4/epoch_5.pth' in printed)
    assert 'route_stats.py configs/ablations/mini/sler_ir_mini_5task_c4.py' \
        in printed
    # No route statistics for a model that does not route.
    assert 'route_stats.py configs/restormer' not in printed
    assert not osp.exists(osp.join(repo_root, out))


def test_the_table(tool):
    metrics = dict(
        sets={'Noise': dict(PSNR=30.0, SSIM=0.8),
              'Rain': dict(PSNR=20.0, SSIM=0.6)},
        average=dict(PSNR=25.0, SSIM=0.7))
    results = [
        dict(name='restormer', status='done', metrics=metrics,
             params=dict(total=800_000, active=800_000), train_wall_s=61),
        dict(name='sler_ir', status='done', metrics=metrics,
             params=dict(total=1_740_000, active=990_000), train_wall_s=600,
             resumed=True,
             routes=dict(sets={'Noise': dict(purity=1.0, path=[0]),
                               'Rain': dict(purity=0.5, path=[1])},
                         task_paths=2)),
        dict(name='c2', status='failed: training (exit 1), see x.log'),
    ]
    table = tool.format_study_table(results).splitlines()
    assert table[0].startswith('| Model | Paper | Noise | Rain | Average |')
    assert ('| Restormer (no routing, same active width) | Table 2 | '
            '30.00 / 0.800 | 20.00 / 0.600 | 25.00 / 0.700 | 0.80M / 0.80M '
            '| 1m01s | - | - | - | - |') == table[2]
    assert '1.74M / 0.99M | 10m00s (resumed) | 1.00 / 0.50 | 2 of 2 | - | - |' \
        in table[3]
    assert 'failed: training (exit 1), see x.log' in table[4]
    assert len({line.count('|') for line in table}) == 1


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


def test_run_logged_runs_a_tool_and_keeps_its_output(tool, tmp_path,
                                                     capsys):
    """The study's own process start (the end-to-end study below runs its
    commands on forked interpreters instead): ``python tools/...`` becomes
    this interpreter and the repository's script; the output goes to the
    log, progress lines and errors are echoed, the exit code returned."""
    log = str(tmp_path / 'study.log')
    cmd = ['python', osp.join('tests', 'helpers', 'make_smoke_pairs.py'),
           str(tmp_path / 'pairs')]
    code, seconds = tool.run_logged(cmd, log, 'row')
    assert code == 0 and seconds > 0
    assert osp.isfile(tmp_path / 'pairs' / 'dark' / 'val' / 'input' /
                      '0000.png')
    with open(log) as f:
        text = f.read()
    assert '$ python tests/helpers/make_smoke_pairs.py' in text
    assert 'wrote smoke pairs (noise, dark)' in text
    # A command that fails: its exit code, and its traceback echoed.
    (tmp_path / 'taken').write_text('a file, not a folder')
    cmd[2] = str(tmp_path / 'taken' / 'pairs')
    code, _ = tool.run_logged(cmd, log, 'row')
    assert code == 1
    assert 'row | Traceback' in capsys.readouterr().out
    # MMEngine's progress lines are echoed in short.
    progress = ('print("11/29 - mmengine - INFO - Epoch(train) [2][3/4]  '
                'lr: 1e-3  eta: 0:00:07  loss: 0.25  loss_pix: 0.2")')
    code, _ = tool.run_logged([sys.executable, '-c', progress], log, 'row')
    assert code == 0
    assert capsys.readouterr().out == (
        '  row | Epoch(train) [2][3/4]  eta: 0:00:07  loss: 0.25\n')


@pytest.fixture(scope='module')
def tool_server():
    """One interpreter with the tools' libraries imported, forked for each
    command of the study (tests/helpers/forked_tools.py): the six commands
    then skip six ~10 s interpreter start-ups."""
    with ToolServer() as server:
        yield server


def test_a_tiny_study_end_to_end(tool, repo_root, tmp_path, monkeypatch,
                                 capsys, tool_server):
    """Three rows on the smoke data: the table, the commands, reuse of the
    finished rows, and refusal to mix budgets. The rows' commands
    (tools/test.py for the degraded inputs; tools/train.py and test.py for
    Restormer; train.py, test.py and route_stats.py for SLER-IR) run as
    processes forked from ``tool_server``, through the study's own
    ``run_logged``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        tool, 'subprocess',
        types.SimpleNamespace(
            Popen=ForkedPopen.on(tool_server),
            PIPE=subprocess.PIPE,
            STDOUT=subprocess.STDOUT))
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=2,
                     num_val=1, size=32)
    sler = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    restormer = tmp_path / 'restormer_smoke_two_stage.py'
    restormer.write_text(RESTORMER_SMOKE.format(sler=sler))
    monkeypatch.setattr(tool, 'ROWS', (
        tool.Row('degraded_input', 'Degraded input', sler, '-',
                 trained=False, routed=False),
        tool.Row('restormer', 'Restormer', str(restormer), 'Table 2',
                 routed=False),
        tool.Row('sler_ir', 'SLER-IR', sler, 'Table 2'),
    ))
    argv = ['--out-dir', 'study', '--stage1-epochs', '1',
            '--stage2-epochs', '1']
    results = tool.main(argv)
    assert [r['status'] for r in results] == ['done'] * 3
    degraded, plain, routed = results
    assert set(degraded['metrics']['sets']) == {'noise', 'dark'}
    # The "Degraded input" row scores the inputs themselves.
    for task in ('noise', 'dark'):
        assert degraded['metrics']['sets'][task]['PSNR'] == pytest.approx(
            input_psnr(str(tmp_path / 'data' / 'smoke_pairs'), task),
            abs=1e-3)
    assert 'params' not in degraded and 'routes' not in plain
    assert plain['params']['total'] == plain['params']['active']
    assert routed['params']['active'] < routed['params']['total']
    assert set(routed['routes']['sets']) == {'noise', 'dark'}
    assert routed['train_wall_s'] > 0
    # Both trained rows ran the same budget: 2 epochs, switch after 1.
    for name in ('restormer', 'sler_ir'):
        assert osp.isfile(tmp_path / 'study' / name / 'epoch_2.pth')
        assert not osp.exists(tmp_path / 'study' / name / 'epoch_3.pth')
    study = (tmp_path / 'study' / 'study.md').read_text()
    assert '| SLER-IR | Table 2 |' in study
    assert 'python tools/train.py ' + sler in study
    assert 'stage 1 1 epochs at batch 4, stage 2 1 epochs at batch 8' in study
    with open(tmp_path / 'study' / 'study.json') as f:
        assert len(json.load(f)['rows']) == 3
    capsys.readouterr()

    # A second run reuses every row.
    again = tool.main(argv)
    assert 'reused' in capsys.readouterr().out
    assert [r['metrics'] for r in again] == [r['metrics'] for r in results]

    # Another budget in the same folder is refused, naming what changed.
    with pytest.raises(SystemExit, match='stage2_epochs: 1 -> 2'):
        tool.main(['--out-dir', 'study', '--stage1-epochs', '1',
                   '--stage2-epochs', '2'])


def input_psnr(data_root, task):
    """Mean PSNR (MMagic's function, as the PSNR metric uses) of a smoke
    set's degraded val inputs against their ground truth."""
    from mmagic.evaluation.metrics.psnr import psnr
    folder = osp.join(data_root, task, 'val')
    names = sorted(os.listdir(osp.join(folder, 'input')))
    assert names
    return float(np.mean([
        psnr(cv2.imread(osp.join(folder, 'input', name)),
             cv2.imread(osp.join(folder, 'target', name)))
        for name in names
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
        [sler, '--degraded-inputs', '--work-dir', str(tmp_path / 'w')])
    expected = {task: input_psnr(data_root, task)
                for task in ('noise', 'dark')}
    # The sets differ (noise sigma 15 against 30 % brightness), so a set
    # scored as the other, or a prediction that is not the input, shows.
    assert abs(expected['noise'] - expected['dark']) > 5
    for task, value in expected.items():
        assert metrics[f'{task}/PSNR'] == pytest.approx(value, abs=1e-3)


def test_routes_of_both_splits_in_the_table(tool):
    metrics = dict(sets={'Noise': dict(PSNR=30.0, SSIM=0.8)},
                   average=dict(PSNR=30.0, SSIM=0.8))
    routes = dict(
        sets={'Noise': dict(purity=1.0, path=[0])}, task_paths=1,
        splits=dict(test=dict(nmi=0.8, task_paths=5, num_tasks=5,
                              min_purity=0.5),
                    train=dict(nmi=0.7, task_paths=4, num_tasks=5,
                               min_purity=0.6)),
        train_test_same=4, train_test_tasks=5)
    table = tool.format_study_table([
        dict(name='sler_ir', status='done', metrics=metrics,
             params=dict(total=1, active=1), train_wall_s=1,
             routes=routes)]).splitlines()
    assert table[2].endswith('| 1.00 | 1 of 1 | 0.80 / 0.70 | 4 of 5 |')


def test_seed_summary(tool, tmp_path):
    def row(name, seed, psnr, nmi=None):
        res = dict(name=name, status='done', train_wall_s=60,
                   metrics=dict(sets={'Noise': dict(PSNR=psnr, SSIM=0.5)},
                                average=dict(PSNR=psnr, SSIM=0.5)))
        if nmi is not None:
            res['routes'] = dict(
                sets={'Noise': dict(purity=1.0, path=[0])}, task_paths=1,
                splits=dict(test=dict(nmi=nmi, task_paths=5, num_tasks=5,
                                      min_purity=0.9)),
                train_test_same=5, train_test_tasks=5)
        folder = tmp_path / f'seed{seed}' / name
        folder.mkdir(parents=True)
        (folder / 'row.json').write_text(json.dumps(res))

    row('restormer', 0, 20.0)
    row('restormer', 1, 22.0)
    row('sler_ir', 0, 23.0, nmi=0.8)
    row('sler_ir', 2, 25.0, nmi=1.0)
    found = tool.collect_seeds(str(tmp_path))
    assert set(found['restormer']) == {0, 1} and set(found['sler_ir']) == {0, 2}
    text = tool.write_seed_summary(str(tmp_path))
    assert (tmp_path / 'summary.md').read_text() == text
    lines = [line for line in text.splitlines() if line.startswith('| ')]
    # mean ± sample standard deviation over the seeds found
    assert lines[1].startswith('| Restormer (no routing, same active width) '
                               '| 0, 1 | 21.00 ± 1.41 | 21.00 ± 1.41 | 0.500 '
                               '| - | - | - | - | 1m00s |')
    assert '| 0, 2 | 24.00 ± 1.41 | 24.00 ± 1.41 | 0.500 | 5/5, 5/5 | ' \
        '0.90 ± 0.14 | 0.90 ± 0.00 | 5/5, 5/5 | 1m00s |' in lines[2]
