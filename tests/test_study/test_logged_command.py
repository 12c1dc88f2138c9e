"""sler_ir_mm.study.logged_command: a study's command run, logged and its
progress echoed."""
import os.path as osp
import sys

from sler_ir_mm.study import progress_line, run_logged


def test_progress_lines_in_short():
    line = ('11/29 - mmengine - INFO - Epoch(train)  [2][ 3/40]  lr: 1e-3  '
            'eta: 0:00:07  time: 1.0  loss: 0.25  loss_pix: 0.2')
    assert progress_line(line) == ('Epoch(train) [2][3/40]  eta: 0:00:07  '
                                   'loss: 0.25')
    assert progress_line('Traceback (most recent call last):\n') == \
        'Traceback (most recent call last):'
    assert progress_line('11/29 - mmengine - INFO - Checkpoints saved') == ''


def test_run_logged_runs_a_tool_and_keeps_its_output(repo_root, tmp_path,
                                                     capsys):
    """``python tools/...`` becomes this interpreter and the script under
    ``tools_root``; the output goes to the log, progress lines and errors
    are echoed, the exit code returned."""
    log = str(tmp_path / 'study.log')
    cmd = [
        'python',
        osp.join('tests', 'helpers', 'make_smoke_pairs.py'),
        str(tmp_path / 'pairs')
    ]
    code, seconds = run_logged(cmd, log, 'row', repo_root)
    assert code == 0 and seconds > 0
    assert osp.isfile(tmp_path / 'pairs' / 'dark' / 'val' / 'input' /
                      '0000.png')
    text = open(log).read()
    assert '$ python tests/helpers/make_smoke_pairs.py' in text
    assert 'wrote smoke pairs (noise, dark)' in text
    # A command that fails: its exit code, and its traceback echoed.
    (tmp_path / 'taken').write_text('a file, not a folder')
    cmd[2] = str(tmp_path / 'taken' / 'pairs')
    code, _ = run_logged(cmd, log, 'row', repo_root)
    assert code == 1
    assert 'row | Traceback' in capsys.readouterr().out
    progress = ('print("11/29 - mmengine - INFO - Epoch(train) [2][3/4]  '
                'lr: 1e-3  eta: 0:00:07  loss: 0.25  loss_pix: 0.2")')
    code, _ = run_logged([sys.executable, '-c', progress], log, 'row',
                         repo_root)
    assert code == 0
    assert capsys.readouterr().out == (
        '  row | Epoch(train) [2][3/4]  eta: 0:00:07  loss: 0.25\n')
