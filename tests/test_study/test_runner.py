"""sler_ir_mm.study.runner: a seed's rows run, resumed and reused, with the
tools replaced by a stand-in that writes the files they write (no
training here; tests/test_tools/test_run_study.py runs the real tools)."""
import io
import json
import os
import os.path as osp
import shutil
import sys

import pytest

from sler_ir_mm.study import (StudyBudgetError, StudyError, StudyRow,
                              StudyRunner, collect_records, write_summary)

FIXTURES = osp.join(osp.dirname(__file__), 'fixtures')


class FakeTools:
    """A ``subprocess.Popen`` stand-in that plays tools/train.py, test.py
    and route_stats.py by writing their output files. ``fail`` maps a
    script name to the exit code of its next call; a failing train.py
    writes the first epoch's checkpoint only, as a killed run does."""

    def __init__(self):
        self.calls = []
        self.fail = {}

    def __call__(self, argv, **kwargs):
        assert argv[0] == sys.executable
        script, args = osp.basename(argv[1]), argv[2:]
        self.calls.append([script] + args)
        code = self.fail.pop(script, 0)
        getattr(self, script[:-3])(args, code)
        return self.Proc(code, f'{script} ran\n')

    class Proc:

        def __init__(self, code, out):
            self.stdout, self.code = io.StringIO(out), code

        def wait(self):
            return self.code

        def kill(self):
            pass

    @staticmethod
    def _value(args, flag):
        return args[args.index(flag) + 1]

    def train(self, args, code):
        work = self._value(args, '--work-dir')
        epochs = 4 if code == 0 else 1
        stamp = f'2026010{len(self.calls)}_000000'
        os.makedirs(osp.join(work, stamp, 'vis_data'))
        with open(osp.join(work, stamp, 'vis_data', 'scalars.json'), 'w') as f:
            for epoch in range(1, epochs + 1):
                f.write(
                    json.dumps(
                        dict(
                            loss=1.0 / epoch,
                            epoch=epoch,
                            iter=epoch,
                            step=epoch)) + '\n')
        for epoch in range(1, epochs + 1):
            open(osp.join(work, f'epoch_{epoch}.pth'), 'w').close()
        with open(osp.join(work, 'last_checkpoint'), 'w') as f:
            f.write(osp.abspath(osp.join(work, f'epoch_{epochs}.pth')))

    def test(self, args, code):
        if code == 0:
            folder = osp.join(
                self._value(args, '--work-dir'),
                f'2026010{len(self.calls)}_000000')
            os.makedirs(folder)
            shutil.copy(osp.join(FIXTURES, 'results.json'), folder)

    def route_stats(self, args, code):
        folder = self._value(args, '--out-dir')
        os.makedirs(folder, exist_ok=True)
        shutil.copy(osp.join(FIXTURES, 'route_stats.json'), folder)


@pytest.fixture
def rows(repo_root):
    config = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    return [
        StudyRow(
            'degraded_input',
            'Degraded input',
            config,
            trained=False,
            routed=False),
        StudyRow('sler_ir', 'SLER-IR', config)
    ]


def runner(rows, tmp_path, tools, **kwargs):
    return StudyRunner(
        rows,
        str(tmp_path / 'study'),
        3,
        'REPO',
        popen=tools,
        count_params=False,
        **kwargs)


def test_a_stopped_row_resumes_and_a_finished_one_is_reused(
        rows, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    tools = FakeTools()
    tools.fail['train.py'] = -9  # killed in its second epoch
    first = runner(rows, tmp_path, tools).run()
    assert [r['status'] for r in first] == [
        'done', 'failed: train (exit -9), see '
        f'{tmp_path}/study/seed3/sler_ir/study.log'
    ]
    work = str(tmp_path / 'study' / 'seed3' / 'sler_ir')
    printed = capsys.readouterr().out
    # Each command is printed before it runs, from the repository root.
    assert (f'[seed 3 2/2] sler_ir: python tools/train.py {rows[1].config} '
            f'--work-dir {work} --cfg-options randomness.seed=3') in printed
    assert [
        'test.py', rows[0].config, '--degraded-inputs', '--work-dir',
        f'{tmp_path}/study/seed3/degraded_input/test'
    ] == tools.calls[0]

    # Run again: the degraded inputs are reused, training resumes from its
    # last checkpoint through --resume, then test and routes run.
    tools.calls.clear()
    second = runner(rows, tmp_path, tools).run()
    assert [c[0]
            for c in tools.calls] == ['train.py', 'test.py', 'route_stats.py']
    train = tools.calls[0]
    assert train[2:7] == [
        '--work-dir', work, '--resume',
        osp.join(work, 'epoch_1.pth'), '--cfg-options'
    ]
    assert tools.calls[1][:2] == ['test.py', rows[1].config]
    assert tools.calls[1][2] == osp.join(work, 'epoch_4.pth')
    record = second[1]
    assert record['status'] == 'done' and record['resumed']
    assert [c.split()[1] for c in record['commands']] == [
        'tools/train.py', 'tools/train.py', 'tools/test.py',
        'tools/analysis_tools/route_stats.py'
    ]
    # Results from the files the tools wrote.
    assert record['test']['averages']['composite']['PSNR'] == 19.0
    assert record['routes']['composites']['Rain+Noise']['hybrid_share'] == \
        0.5
    assert record['train']['epochs'] == 4
    assert record['train']['final_loss'] == 0.25
    assert record['budget']['seed'] == 3
    assert 'reused' in capsys.readouterr().out

    # A third run reuses both rows and runs nothing.
    tools.calls.clear()
    assert runner(rows, tmp_path, tools).run() == second
    assert tools.calls == []


def test_a_trained_row_whose_test_failed_is_only_tested(
        rows, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tools = FakeTools()
    tools.fail['test.py'] = 1
    record, = runner(rows[1:], tmp_path, tools).run()
    assert record['status'].startswith('failed: test (exit 1)')
    tools.calls.clear()
    record, = runner(rows[1:], tmp_path, tools).run()
    assert [c[0] for c in tools.calls] == ['test.py', 'route_stats.py']
    assert record['status'] == 'done' and not record['resumed']
    # The training command of the earlier session is kept.
    assert record['commands'][0].startswith('python tools/train.py')
    assert record['wall_s']['train'] >= 0


def test_another_budget_is_refused_and_rerun_keeps_the_old_dir(
        rows, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tools = FakeTools()
    runner(rows[1:], tmp_path, tools).run()
    with pytest.raises(StudyBudgetError, match='stage2_epochs: 2 -> 3'):
        runner(rows[1:], tmp_path, tools, stage_epochs=(2, 3)).run()
    tools.calls.clear()
    record, = runner(
        rows[1:], tmp_path, tools, stage_epochs=(2, 3), rerun=True).run()
    assert record['status'] == 'done'
    assert '--stage-epochs' in tools.calls[0]
    kept = [
        d for d in os.listdir(tmp_path / 'study' / 'seed3')
        if d.startswith('sler_ir.old-')
    ]
    assert len(kept) == 1


def test_a_missing_result_file_fails_the_row(rows, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tools = FakeTools()
    tools.route_stats = lambda args, code: None  # writes nothing
    record, = runner(rows[1:], tmp_path, tools).run()
    assert record['status'].startswith('failed: reading the results: '
                                       'cannot read')


def test_one_budget_override_for_rows_of_different_epochs(rows, tmp_path):
    other = tmp_path / 'three_epochs.py'
    other.write_text(f"_base_ = [{rows[1].config!r}]\n"
                     "from sler_ir_mm.engine.schedules import "
                     "with_stage_epochs\n"
                     "_s = with_stage_epochs(_base_, 1, 2, 8)\n"
                     "train_cfg = _s['train_cfg']\n"
                     "param_scheduler = _s['param_scheduler']\n"
                     "custom_hooks = _s['custom_hooks']\n"
                     "del _s, with_stage_epochs\n")
    two = [rows[1], rows[1]._replace(name='other', config=str(other))]
    # Each config's own epochs: fine (the rows' configs see to an equal
    # budget in iterations).
    assert runner(two, tmp_path,
                  FakeTools()).budgets['other']['stage2_epochs'] == 2
    with pytest.raises(StudyError, match='different stage epochs'):
        runner(two, tmp_path, FakeTools(), stage_epochs=(1, 1))
    with pytest.raises(StudyError, match='not found'):
        runner([rows[1]._replace(config='nope.py')], tmp_path, FakeTools())


def test_records_and_summary_files(rows, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for seed in (3, 4):
        StudyRunner(
            rows,
            str(tmp_path / 'study'),
            seed,
            'REPO',
            popen=FakeTools(),
            count_params=False).run()
    found = collect_records(str(tmp_path / 'study'), rows)
    assert {
        n: sorted(s)
        for n, s in found.items()
    } == {
        'degraded_input': [3, 4],
        'sler_ir': [3, 4]
    }
    summary = write_summary(
        str(tmp_path / 'results'), rows, found, dict(dataset='smoke'))
    assert [r['seeds'] for r in summary['rows']] == [[3, 4], [3, 4]]
    with open(tmp_path / 'results' / 'summary.json') as f:
        assert json.load(f) == summary
    text = (tmp_path / 'results' / 'summary.md').read_text()
    assert '| SLER-IR | Rain+Noise | 2 of 2 |' in text
    # Only the summaries go to the results folder.
    assert sorted(os.listdir(tmp_path /
                             'results')) == ['summary.json', 'summary.md']
