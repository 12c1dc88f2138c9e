"""Run the rows of one seed of the study: train, test and route
statistics per row, each command printed before it runs, results read
from the files the tools write."""
import datetime
import os
import os.path as osp
import shutil
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .budget import flatten_options, row_budget
from .checkpoints import final_checkpoint, last_checkpoint
from .commands import (TRAIN, format_command, route_stats_command,
                       evaluation_command, train_command)
from .errors import StudyError
from .logged_command import run_logged
from .machine import describe_machine, machine_info
from .model_params import count_config_params
from .resume import RowPlan, plan_row
from .route_summary import read_route_stats
from .rows import StudyRow
from .summary_files import RECORD, read_record, seed_dir, write_json
from .evaluation_results import read_test_results
from .train_scalars import read_train_scalars, summarize_train_scalars

__all__ = ['StudyRunner']


def _tail(path: str, lines: int = 25) -> str:
    with open(path, encoding='utf-8', errors='replace') as f:
        return ''.join(f.readlines()[-lines:])


class StudyRunner:
    """Runs rows of the study for one seed into ``<work_dir>/seed<S>/<row>``.

    For each row: ``tools/train.py`` (fresh, or ``--resume CKPT`` when an
    earlier study stopped), ``tools/test.py`` on the last epoch's checkpoint
    and, for routed rows, ``tools/analysis_tools/route_stats.py``. A row's
    ``row.json`` is written before its first step and after each; a row
    done with the same budget is reused.

    Args:
        rows (Sequence[StudyRow]): The rows to run, in order.
        work_dir (str): The study's work dir.
        seed (int): ``randomness.seed`` of every row.
        tools_root (str): The folder holding ``tools/``.
        stage_epochs (tuple[int, int], optional): Epochs of both stages
            for every row; None: each config's.
        cfg_options (Mapping, optional): The user's config overrides.
        rerun (bool): Run done rows again (their work dirs are kept under
            another name).
        popen (Callable, optional): Stand-in for ``subprocess.Popen``.
        count_params (bool): Count each trained model's parameters (builds
            the model in this process). Default: True.
    """

    def __init__(self,
                 rows: Sequence[StudyRow],
                 work_dir: str,
                 seed: int,
                 tools_root: str,
                 stage_epochs: Optional[Tuple[int, int]] = None,
                 cfg_options: Optional[Mapping] = None,
                 rerun: bool = False,
                 popen: Optional[Callable] = None,
                 count_params: bool = True) -> None:
        self.rows = list(rows)
        self.seed = seed
        self.dir = seed_dir(work_dir, seed)
        self.tools_root = tools_root
        self.stage_epochs = stage_epochs
        self.cfg_options = dict(cfg_options or {})
        self.user_options = flatten_options(self.cfg_options)
        self.rerun = rerun
        self.popen = popen
        self.count_params = count_params
        self.budgets = self._budgets()
        self.machine = describe_machine(machine_info())

    def _budgets(self) -> Dict[str, dict]:
        """Each row's budget; the epochs of trained rows must agree when
        ``stage_epochs`` overrides them."""
        budgets = {}
        own = {}
        for row in self.rows:
            if not osp.isfile(row.config):
                raise StudyError(f'config of row {row.name!r} not found: '
                                 f'{row.config}')
            if row.trained and self.stage_epochs is not None:
                b = row_budget(row.config, cfg_options=self.cfg_options)
                own[row.name] = (b['stage1_epochs'], b['stage2_epochs'])
            budgets[row.name] = row_budget(row.config, self.seed,
                                           self.stage_epochs, self.cfg_options)
        if len(set(own.values())) > 1:
            raise StudyError(
                'the rows\' configs have different stage epochs (' +
                ', '.join(f'{n} {a}+{b}' for n, (a, b) in own.items()) +
                '), so one --stage-epochs would give them different '
                'budgets in iterations; run them in separate commands')
        return budgets

    def row_dir(self, row: StudyRow) -> str:
        return osp.join(self.dir, row.name)

    def _epochs(self, row: StudyRow) -> int:
        b = self.budgets[row.name]
        return b['stage1_epochs'] + b['stage2_epochs']

    def commands(self,
                 row: StudyRow,
                 plan: Optional[RowPlan] = None) -> Dict[str, List[str]]:
        """The row's commands, in order (``train`` only if it trains now).

        Args:
            row (StudyRow): The row.
            plan (RowPlan, optional): What it does; None: a fresh start.
        """
        work = self.row_dir(row)
        cmds: Dict[str, List[str]] = {}
        if not row.trained:
            cmds['test'] = evaluation_command(row.config,
                                              osp.join(work, 'test'), None,
                                              self.user_options)
            return cmds
        train = plan.train if plan is not None else 'fresh'
        if train != 'skip':
            cmds['train'] = train_command(
                row.config, work, self.budgets[row.name], self.stage_epochs,
                plan.resume_from if plan is not None else None)
        ckpt = osp.join(work, f'epoch_{self._epochs(row)}.pth')
        cmds['test'] = evaluation_command(row.config, osp.join(work, 'test'),
                                          ckpt, self.user_options)
        if row.routed:
            cmds['routes'] = route_stats_command(row.config, ckpt,
                                                 osp.join(work, 'routes'),
                                                 self.user_options)
        return cmds

    def plan(self, row: StudyRow) -> RowPlan:
        """:func:`~sler_ir_mm.study.resume.plan_row` of the row's work dir.
        """
        work = self.row_dir(row)
        return plan_row(
            read_record(work), self.budgets[row.name], row.trained,
            last_checkpoint(work) if row.trained else None,
            final_checkpoint(work, self._epochs(row)) if row.trained else None,
            self.rerun)

    def print_commands(self) -> None:
        """Print every row's commands of a fresh start (``--dry-run``)."""
        for i, row in enumerate(self.rows, 1):
            for cmd in self.commands(row).values():
                print(f'[seed {self.seed} {i}/{len(self.rows)}] {row.name}: '
                      f'{format_command(cmd)}')

    def _save(self, record: dict) -> None:
        write_json(osp.join(self.dir, record['name'], RECORD), record)

    def _set_aside(self, work: str) -> str:
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
        kept = f'{work}.old-{stamp}'
        shutil.move(work, kept)
        return kept

    def _step(self, record: dict, tag: str, step: str, cmd: List[str]) -> bool:
        """Print and run one command; record its command and time. On
        failure, show the log's end and mark the record."""
        log = osp.join(self.dir, record['name'], 'study.log')
        record['commands'].append(format_command(cmd))
        print(f'{tag}: {format_command(cmd)}', flush=True)
        code, seconds = run_logged(cmd, log, record['name'], self.tools_root,
                                   self.popen)
        record['wall_s'][step] = seconds
        if code == 0:
            self._save(record)
            return True
        print(
            f'{tag}: {step} FAILED (exit {code}); the end of {log}:\n'
            f'{_tail(log)}',
            flush=True)
        record['status'] = f'failed: {step} (exit {code}), see {log}'
        self._save(record)
        return False

    def _read_results(self, row: StudyRow, record: dict) -> None:
        work = self.row_dir(row)
        record['test'] = read_test_results(osp.join(work, 'test'))
        if row.routed:
            record['routes'] = read_route_stats(
                osp.join(work, 'routes', 'route_stats.json'))
        if row.trained:
            record['train'] = summarize_train_scalars(
                read_train_scalars(work),
                self.budgets[row.name]['stage1_epochs'])
            if self.count_params:
                record['params'] = count_config_params(row.config,
                                                       self.cfg_options)

    def run_row(self, row: StudyRow, index: int = 1, count: int = 1) -> dict:
        """Run (or reuse) one row; return its record."""
        work = self.row_dir(row)
        tag = f'[seed {self.seed} {index}/{count}] {row.name}'
        plan = self.plan(row)
        if plan.reuse:
            print(f'{tag}: {plan.reason} ({work}; --rerun to run it again)')
            return read_record(work)
        if plan.set_aside and osp.isdir(work):
            print(f'{tag}: earlier work dir kept as {self._set_aside(work)}')
        print(f'{tag}: {plan.reason}', flush=True)
        os.makedirs(work, exist_ok=True)
        earlier = read_record(work) or {}
        record = dict(
            name=row.name,
            label=row.label,
            config=row.config,
            seed=self.seed,
            machine=self.machine,
            status='running',
            budget=self.budgets[row.name],
            # A resumed or finished training keeps its earlier commands.
            commands=[] if plan.train == 'fresh' else
            [c for c in earlier.get('commands') or [] if f' {TRAIN} ' in c],
            resumed=plan.train == 'resume' or bool(earlier.get('resumed')),
            wall_s=dict(earlier.get('wall_s') or {}))
        self._save(record)
        for step, cmd in self.commands(row, plan).items():
            if not self._step(record, tag, step, cmd):
                return record
        try:
            self._read_results(row, record)
        except StudyError as err:
            record['status'] = f'failed: reading the results: {err}'
            print(f'{tag}: {record["status"]}', flush=True)
            self._save(record)
            return record
        record['status'] = 'done'
        self._save(record)
        return record

    def run(self) -> List[dict]:
        """Run every row; return their records."""
        records = []
        for i, row in enumerate(self.rows, 1):
            records.append(self.run_row(row, i, len(self.rows)))
            print(
                f'[seed {self.seed} {i}/{len(self.rows)}] {row.name}: '
                f'{records[-1]["status"]}',
                flush=True)
        return records
