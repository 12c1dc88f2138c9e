"""Does SLER-IR's design pay off? An equal-budget study on the embedded mini
benchmark (the small-scale counterpart of the paper's Tables 2-6).

Trains and tests, one after the other, models that differ only in what a
row names; data, epochs, batch sizes, optimizer, schedule and seed are
those of ``configs/sler_ir_mini_5task.py`` for every row (or the shorter
budget given with ``--stage1-epochs`` / ``--stage2-epochs``, which the
rows' training gets as ``tools/train.py --stage-epochs``).

The rows are the models of ``metafile.yml`` with a ``Study`` entry (its
``Row`` is the name ``--rows`` takes; ``Default: false`` leaves it out of
the default list), in the file's order, after ``degraded_input``: the
degraded inputs themselves, scored (the reference, no training).
``--help`` lists them.

Each row runs ``tools/train.py``, then ``tools/test.py`` on the last
checkpoint and, for routed models, ``tools/analysis_tools/route_stats.py``;
every command is printed before it runs, so any row can be rerun by hand.
The output folder (``--out-dir``) gets one work dir per row (logs,
checkpoints, ``row.json``) and the study's ``study.md`` (the table, the
commands, the machine) and ``study.json``.

The table gives per test set PSNR / SSIM and their average, the training
wall time, parameters in total and per image (one expert per routed
layer), and for routed models the route purity per test set (share of its
images on its most common path) and how many distinct paths the test sets'
most common paths are ("2 of 5": two routes serve the five tasks).

``--seeds 0 1 2`` runs the rows once per seed, into ``<out-dir>/seed<S>``,
and writes ``summary.md`` / ``summary.json``: per row the mean and the
spread over every seed found in the out-dir (rows may have different
numbers of seeds: run a second command with other rows and seeds into the
same folder).

A stopped study picks up where it was: finished rows are reused, and a row
whose training was interrupted resumes from its last checkpoint. Only small
files are needed to reuse a row (``row.json`` and the route statistics),
so a study folder without its checkpoints, e.g. committed to the
repository, resumes on another machine. The default list takes about an
hour on 2 CPU cores.

Examples::

    python tools/analysis_tools/run_study.py
    python tools/analysis_tools/run_study.py --rows restormer sler_ir \\
        --stage1-epochs 2 --stage2-epochs 4 --out-dir work_dirs/study_short
    python tools/analysis_tools/run_study.py --rows all --dry-run
    python tools/analysis_tools/run_study.py --seeds 0 1 2 \
        --rows restormer sler_ir classifier_l1_cls --out-dir work_dirs/seeds
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import yaml  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

from sler_ir_mm.engine.schedules import (StageScheduleError,  # noqa: E402
                                         read_stage_epochs)
from sler_ir_mm.evaluation.results_table import summarize_metrics  # noqa: E402
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join('tools', 'train.py')
TEST = osp.join('tools', 'test.py')
ROUTE_STATS = osp.join('tools', 'analysis_tools', 'route_stats.py')
# The models and their study rows (next to tools/ in a clone and in the
# package's .mim folder).
METAFILE = osp.join(REPO, 'metafile.yml')
# Settings that, if changed, make earlier results of a study folder
# incomparable with new ones.
BUDGET_KEYS = ('stage1_epochs', 'stage2_epochs', 'seed', 'cfg_options')


class Row(NamedTuple):
    """One model of the study (in metafile.yml: the model's ``Config`` and
    its ``Study`` keys ``Row``, ``Label``, ``Table``, ``Default``,
    ``Routed``).

    Attributes:
        name (str): Short name, used for ``--rows`` and the work dir.
        label (str): What the table calls it.
        config (str): Config file, relative to the repository root (or
            absolute).
        paper (str): The paper's table it mirrors.
        default (bool): Whether it is in the default list.
        trained (bool): False for the degraded-input reference row.
        routed (bool): Whether the model routes (route statistics).
    """
    name: str
    label: str
    config: str
    paper: str
    default: bool = True
    trained: bool = True
    routed: bool = True


# Scores the inputs of the test sets; it needs a config with the study's
# data only, that of this row.
DATA_ROW = 'sler_ir'


def load_rows(metafile: str = METAFILE) -> Tuple[Row, ...]:
    """The study's rows: ``degraded_input``, then each model of
    ``metafile`` that has a ``Study`` entry, in the file's order.

    Args:
        metafile (str): The OpenMIM metafile. Default: the repository's.

    Returns:
        tuple[Row]: The rows.
    """
    with open(metafile, encoding='utf-8') as f:
        models = yaml.safe_load(f).get('Models') or []
    rows = []
    for model in models:
        study = model.get('Study')
        if not study:
            continue
        try:
            rows.append(
                Row(name=study['Row'],
                    label=study['Label'],
                    config=model['Config'],
                    paper=study.get('Table', '-'),
                    default=bool(study.get('Default', True)),
                    routed=bool(study.get('Routed', True))))
        except KeyError as err:
            raise ValueError(f'{metafile}: the Study entry of '
                             f'{model.get("Name")!r} has no {err}') from None
    names = [r.name for r in rows]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice or DATA_ROW not in names:
        raise ValueError(f'{metafile}: the Study rows must have distinct '
                         f'names and include {DATA_ROW!r}; they are {names}')
    data = rows[names.index(DATA_ROW)].config
    return (Row('degraded_input', 'Degraded input', data, '-', trained=False,
                routed=False), ) + tuple(rows)


ROWS = load_rows()


def parse_args(argv=None) -> argparse.Namespace:
    names = [r.name for r in ROWS]
    parser = argparse.ArgumentParser(
        description='Train and test the SLER-IR ablations and the Restormer '
        'baseline at an equal budget on the mini benchmark, and write one '
        'Markdown table',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument(
        '--rows',
        nargs='+',
        metavar='ROW',
        help=f'rows to run, in this order, or "all" (default: '
        f'{" ".join(r.name for r in ROWS if r.default)}; choices: '
        f'{" ".join(names)})')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/study',
        help='one work dir per row and study.{md,json} (default: '
        'work_dirs/study)')
    parser.add_argument(
        '--stage1-epochs',
        type=int,
        help='epochs of stage 1 for every row (default: the config\'s)')
    parser.add_argument(
        '--stage2-epochs',
        type=int,
        help='epochs of stage 2 for every row (default: the config\'s)')
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument(
        '--seed', type=int, help='randomness.seed for every row '
        '(default: the config\'s)')
    seeds.add_argument(
        '--seeds', type=int, nargs='+', metavar='S',
        help='run the rows once per seed, into <out-dir>/seed<S>, and '
        'summarise mean and spread over the seeds in summary.md')
    parser.add_argument(
        '--rerun',
        action='store_true',
        help='train the rows again even if --out-dir has their results '
        '(their old work dirs are kept, renamed *.old-<time>)')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the commands and exit without running them')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides for every row, e.g. '
        'train_dataloader.num_workers=2')
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = [r.name for r in ROWS if r.default]
    elif args.rows == ['all']:
        args.rows = names
    unknown = [n for n in args.rows if n not in names]
    if unknown:
        parser.error(f'--rows: unknown {unknown}; choose from {names} or '
                     '"all"')
    if len(set(args.rows)) != len(args.rows):
        parser.error(f'--rows: a row is given twice: {args.rows}')
    if args.seeds is not None and len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds: a seed is given twice: {args.seeds}')
    for flag in ('stage1_epochs', 'stage2_epochs'):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f'--{flag.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    return args


def row_by_name(name: str) -> Row:
    for row in ROWS:
        if row.name == name:
            return row
    raise KeyError(name)


def _option(key: str, value) -> str:
    if isinstance(value, (list, tuple)):
        value = '[' + ','.join(str(v) for v in value) + ']'
    return f'{key}={value}'


def _flatten(options: Optional[dict], prefix: str = '') -> List[str]:
    """``--cfg-options`` as given back to the command line."""
    out = []
    for key, value in (options or {}).items():
        if isinstance(value, dict):
            out += _flatten(value, f'{prefix}{key}.')
        else:
            out.append(_option(prefix + key, value))
    return out


def budget(config: str, args: argparse.Namespace) -> dict:
    """The training budget of ``config`` under ``args``: epochs of each
    stage and the batch size of each, the ``tools/train.py`` arguments
    that set it (``--stage-epochs``; none when the config's own epochs are
    used) and the ``--cfg-options`` of the seed and the user."""
    cfg = Config.fromfile(config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        stages = read_stage_epochs(cfg)
    except StageScheduleError as err:
        raise SystemExit(f'{config}: {err}')
    stage1, stage2 = stages.stage1_epochs, stages.stage2_epochs
    train_args = []
    if args.stage1_epochs is not None or args.stage2_epochs is not None:
        stage1 = args.stage1_epochs or stage1
        stage2 = args.stage2_epochs or stage2
        train_args = ['--stage-epochs', str(stage1), str(stage2)]
    options = []
    if args.seed is not None:
        options.append(_option('randomness.seed', args.seed))
    return dict(
        stage1_epochs=stage1,
        stage2_epochs=stage2,
        stage1_batch_size=stages.stage1_batch_size,
        stage2_batch_size=stages.stage2_batch_size,
        seed=args.seed if args.seed is not None else cfg.get(
            'randomness', {}).get('seed'),
        train_args=train_args,
        options=options + _flatten(args.cfg_options))


def command(*parts: str, options: Sequence[str] = ()) -> List[str]:
    cmd = ['python', *parts]
    if options:
        cmd += ['--cfg-options', *options]
    return cmd


def show(cmd: Sequence[str]) -> str:
    return ' '.join(shlex.quote(c) for c in cmd)


_EPOCH = re.compile(r'Epoch\((?:train|val|test)\)\s*\[[^\]]*\](?:\[[^\]]*\])?')
_FIELD = re.compile(r'\b(eta|loss): (\S+)')


def _progress(line: str) -> str:
    """The short form of an MMEngine progress line ('' for others):
    the epoch and iteration, the ETA and the total loss; errors whole."""
    if 'Error' in line or 'Traceback' in line:
        return line.rstrip()
    match = _EPOCH.search(line)
    if not match:
        return ''
    fields = [f'{k}: {v}' for k, v in _FIELD.findall(line)]
    return '  '.join([' '.join(match.group(0).split())] + fields)


def run_logged(cmd: Sequence[str], log_path: str, prefix: str) -> tuple:
    """Run ``cmd`` (``python tools/...``: this interpreter and this
    repository's tool) from the current folder, write its output to
    ``log_path`` and echo MMEngine's progress lines in short.

    Returns:
        tuple: ``(exit code, seconds)``.
    """
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    argv = list(cmd)
    if argv[0] == 'python':
        # This interpreter, and the tools next to this one (the commands
        # print them relative to the repository root).
        argv[:2] = [sys.executable, osp.join(REPO, argv[1])]
    start = time.perf_counter()
    with open(log_path, 'a', encoding='utf-8') as log:
        log.write(f'\n$ {show(cmd)}\n')
        log.flush()
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env)
        try:
            for line in proc.stdout:
                log.write(line)
                brief = _progress(line)
                if brief:
                    print(f'  {prefix} | {brief}', flush=True)
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return code, time.perf_counter() - start


def tail(path: str, lines: int = 25) -> str:
    with open(path, encoding='utf-8', errors='replace') as f:
        return ''.join(f.readlines()[-lines:])


def last_checkpoint(work_dir: str) -> Optional[str]:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    if not osp.isfile(path):
        return None
    # MMEngine writes an absolute path; the printed commands stay relative.
    local = osp.join(work_dir, osp.basename(path))
    return local if osp.samefile(local, path) else path


def count_params(config: str, cfg_options: Optional[dict]) -> dict:
    """Total and per-image parameters of the model ``config`` builds."""
    from mmagic.registry import MODELS
    from mmengine.registry import init_default_scope

    from sler_ir_mm.evaluation.param_count import count_parameters
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    count = count_parameters(MODELS.build(cfg.model))
    return count._asdict()


def route_summary(stats_path: str) -> dict:
    """Per test set: purity and most common path; per split (test images,
    training patches): task paths, NMI, min purity; whether each task takes
    the same main path on both; from route_stats.json."""
    with open(stats_path, encoding='utf-8') as f:
        stats = json.load(f)
    sets = {
        name: dict(
            purity=s['purity'],
            path=s['top_paths'][0]['path'],
            num_paths=s['num_paths']) for name, s in stats['sets'].items()
    }
    main_paths = {tuple(s['path']) for s in sets.values()}
    angles = stats.get('center_angles') or {}
    splits = {
        name: dict(task_paths=d['task_paths'], nmi=d['nmi'],
                   min_purity=d['min_purity'],
                   num_tasks=len(d['tasks']),
                   min_layer_balance=d['min_layer_balance'],
                   paths={t: v['main_path'] for t, v in d['tasks'].items()})
        for name, d in (stats.get('splits') or {}).items()
    }
    summary = dict(sets=sets, task_paths=len(main_paths),
                   center_angle_min=angles.get('min'), splits=splits)
    if {'train', 'test'} <= set(splits):
        test, train = splits['test']['paths'], splits['train']['paths']
        common = [t for t in test if t in train]
        summary['train_test_same'] = sum(test[t] == train[t]
                                         for t in common)
        summary['train_test_tasks'] = len(common)
    return summary


def machine() -> dict:
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    import mmagic
    import mmengine
    gpu = (torch.cuda.get_device_name(0)
           if torch.cuda.is_available() else 'none')
    return dict(
        cpu=cpu,
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        gpu=gpu,
        python=platform.python_version(),
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        mmagic=mmagic.__version__,
        os=platform.platform())


def _minutes(seconds: Optional[float]) -> str:
    if seconds is None:
        return '-'
    seconds = int(round(seconds))
    return f'{seconds // 60}m{seconds % 60:02d}s'


def _millions(n: Optional[int]) -> str:
    return '-' if n is None else f'{n / 1e6:.2f}M'


def format_study_table(results: Sequence[dict]) -> str:
    """The study's Markdown table, one line per row result."""
    sets: List[str] = []
    for res in results:
        for name in (res.get('metrics') or {}).get('sets', {}):
            if name not in sets:
                sets.append(name)

    def cell(values: Optional[dict]) -> str:
        if not values or 'PSNR' not in values:
            return '-'
        ssim = values.get('SSIM')
        return f'{values["PSNR"]:.2f} / ' + (
            '-' if ssim is None else f'{ssim:.3f}')

    header = (['Model', 'Paper'] + sets + [
        'Average', 'Params total / per image', 'Train wall',
        'Route purity per set', 'Task paths', 'NMI test / train',
        'Same path train/test'
    ])
    lines = [
        '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)
    ]
    for res in results:
        row = row_by_name(res['name'])
        if res.get('status') != 'done':
            cells = [f'{res.get("status", "not run")}'] + [''] * (
                len(header) - 3)
            lines.append('| ' + ' | '.join([row.label, row.paper] + cells) +
                         ' |')
            continue
        metrics = res['metrics']
        params = res.get('params') or {}
        routes = res.get('routes')
        purity = paths = nmi = same = '-'
        if routes:
            purity = ' / '.join(
                f'{routes["sets"][s]["purity"]:.2f}' for s in sets
                if s in routes['sets'])
            paths = f'{routes["task_paths"]} of {len(routes["sets"])}'
            splits = routes.get('splits') or {}
            if splits:
                nmi = ' / '.join(
                    f'{splits[k]["nmi"]:.2f}' if k in splits else '-'
                    for k in ('test', 'train'))
            if 'train_test_same' in routes:
                same = (f'{routes["train_test_same"]} of '
                        f'{routes["train_test_tasks"]}')
        wall = _minutes(res.get('train_wall_s'))
        if res.get('resumed'):
            wall += ' (resumed)'
        total, active = params.get('total'), params.get('active')
        size = ('-' if total is None else
                f'{_millions(total)} / {_millions(active)}')
        lines.append('| ' + ' | '.join(
            [row.label, row.paper] +
            [cell(metrics['sets'].get(s)) for s in sets] +
            [cell(metrics.get('average')), size, wall if row.trained else '-',
             purity, paths, nmi, same]) + ' |')
    return '\n'.join(lines)


def study_markdown(results: Sequence[dict], info: dict) -> str:
    b = info['budget']
    m = info['machine']
    lines = [
        '# SLER-IR equal-budget study on the embedded mini benchmark', '',
        f'Budget for every trained row: stage 1 {b["stage1_epochs"]} epochs '
        f'at batch {b["stage1_batch_size"]}, stage 2 {b["stage2_epochs"]} '
        f'epochs at batch {b["stage2_batch_size"]}, seed {b["seed"]}.',
        f'Machine: {m["cpu"]}, {m["cpu_count"]} cores '
        f'({m["torch_threads"]} torch threads), GPU: {m["gpu"]}; Python '
        f'{m["python"]}, torch {m["torch"]}, MMEngine {m["mmengine"]}, '
        f'MMagic {m["mmagic"]}.',
        f'Finished {info["finished"]}; study wall time '
        f'{_minutes(info["wall_s"])}.', '',
        'PSNR (dB) / SSIM on RGB, per test set. "Train wall" includes the '
        'final validation; "per image" counts one expert per routed layer; '
        'route purity is the share of a set on its most common path; task '
        'paths is how many distinct routes the sets\' most common paths '
        'are; NMI is the normalised mutual information of path and task on '
        'the test images and on a probe of training patches; "same path" '
        'counts the tasks whose training patches and test images take the '
        'same main path.', '',
        format_study_table(results), '', 'Commands (from the repository '
        'root; the study runs them in this order):', '', '```bash'
    ]
    for res in results:
        lines += res.get('commands', [])
    lines += ['```', '']
    return '\n'.join(lines)


class Study:
    """Runs the rows and keeps their results in ``out_dir``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out_dir = args.out_dir
        self.budgets: Dict[str, dict] = {}
        # What every row of this study trains with (set by run()).
        self.budget_info: Optional[dict] = None

    def row_dir(self, row: Row) -> str:
        return osp.join(self.out_dir, row.name)

    def commands(self, row: Row) -> Dict[str, List[str]]:
        b = self.budgets[row.config]
        work = self.row_dir(row)
        metrics = osp.join(work, 'metrics.json')
        # Testing needs none of the budget's options, only the user's.
        user = _flatten(self.args.cfg_options)
        if not row.trained:
            return dict(test=command(
                TEST, row.config, '--degraded-inputs', '--work-dir',
                osp.join(work, 'test'), '--out', metrics, options=user))
        ckpt = last_checkpoint(work) or osp.join(
            work, f'epoch_{b["stage1_epochs"] + b["stage2_epochs"]}.pth')
        cmds = dict(
            train=command(TRAIN, row.config, '--work-dir', work,
                          *b['train_args'], options=b['options']),
            test=command(TEST, row.config, ckpt, '--work-dir',
                         osp.join(work, 'test'), '--out', metrics,
                         options=user))
        if row.routed:
            cmds['routes'] = command(
                ROUTE_STATS, row.config, ckpt, '--out-dir',
                osp.join(work, 'routes'), options=user)
        return cmds

    def check_out_dir(self, budget_info: dict) -> None:
        """Refuse to mix results of different budgets in one folder."""
        path = osp.join(self.out_dir, 'study_budget.json')
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                old = json.load(f)
            changed = [k for k in BUDGET_KEYS
                       if old.get(k) != budget_info.get(k)]
            if changed and not self.args.rerun:
                raise SystemExit(
                    f'{self.out_dir} holds a study with another budget '
                    f'({", ".join(f"{k}: {old.get(k)} -> {budget_info.get(k)}" for k in changed)}); '  # noqa: E501
                    'give another --out-dir, or --rerun to train every row '
                    'again (the old work dirs are kept)')
        os.makedirs(self.out_dir, exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(budget_info, f, indent=2)

    def load_row(self, row: Row) -> Optional[dict]:
        """What an earlier study left in the row's ``row.json``, if any."""
        path = osp.join(self.row_dir(row), 'row.json')
        if not osp.isfile(path):
            return None
        with open(path, encoding='utf-8') as f:
            return json.load(f)

    def set_aside(self, work: str) -> str:
        """Keep an old work dir as ``<work>.old-<time>``; return its name."""
        stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
        shutil.move(work, f'{work}.old-{stamp}')
        return f'{work}.old-{stamp}'

    def _step(self, res: dict, tag: str, step: str, cmd: List[str],
              log: str) -> bool:
        """Print and run one command of a row; record its command and
        time in ``res``. On failure, show the log's end, mark and save the
        row, and return False."""
        res['commands'].append(show(cmd))
        print(f'{tag}: {show(cmd)}', flush=True)
        code, seconds = run_logged(cmd, log, res['name'])
        res[f'{step}_wall_s'] = seconds
        if code == 0:
            return True
        print(f'{tag}: {step} FAILED (exit {code}); the end of {log}:\n'
              f'{tail(log)}', flush=True)
        res['status'] = f'failed: {step} (exit {code}), see {log}'
        self.save(res)
        return False

    def save(self, res: dict) -> None:
        path = osp.join(self.out_dir, res['name'], 'row.json')
        with open(path + '.tmp', 'w', encoding='utf-8') as f:
            json.dump(res, f, indent=2)
        os.replace(path + '.tmp', path)

    def run_row(self, row: Row, index: int, count: int) -> dict:
        work = self.row_dir(row)
        tag = f'[{index}/{count}] {row.name}'
        if self.args.rerun and osp.isdir(work):
            self.set_aside(work)
        earlier = self.load_row(row)
        if earlier is not None:
            # A row.json without a budget predates the check and was made
            # under the study's budget (check_out_dir compared it).
            if earlier.get('budget', self.budget_info) != self.budget_info:
                # Left by a study with another budget (e.g. one that ran
                # other rows with --rerun): not comparable, train again.
                kept = self.set_aside(work)
                print(f'{tag}: {work} was trained with another budget; kept '
                      f'as {kept}, training again')
            elif earlier.get('status') == 'done':
                print(f'{tag}: results found in {work}, reused (--rerun to '
                      'train it again)')
                return earlier
        os.makedirs(work, exist_ok=True)
        log = osp.join(work, 'study.log')
        res = dict(name=row.name, label=row.label, config=row.config,
                   status='running', budget=self.budget_info, commands=[])
        if row.trained:
            cmds = self.commands(row)
            train = cmds['train']
            resumed = last_checkpoint(work) is not None
            if resumed:
                # An interrupted earlier run: go on from its checkpoint.
                train = train[:3] + ['--resume'] + train[3:]
            res['resumed'] = resumed
            if not self._step(res, tag, 'train', train, log):
                return res
        # The test and route commands name the checkpoint training wrote.
        cmds = self.commands(row)
        for step in ('test', 'routes'):
            if step in cmds and not self._step(res, tag, step, cmds[step],
                                               log):
                return res
        with open(osp.join(work, 'metrics.json'), encoding='utf-8') as f:
            res['metrics'] = summarize_metrics(json.load(f))
        if 'routes' in cmds:
            res['routes'] = route_summary(
                osp.join(work, 'routes', 'route_stats.json'))
        if row.trained:
            res['params'] = count_params(row.config, self.args.cfg_options)
        res['status'] = 'done'
        self.save(res)
        return res

    def run(self) -> List[dict]:
        rows = []
        for name in self.args.rows:
            row = row_by_name(name)
            if not osp.isfile(row.config) and osp.isfile(
                    osp.join(REPO, row.config)):
                # Run from elsewhere (e.g. the tools of a mim install).
                row = row._replace(config=osp.join(REPO, row.config))
            if not osp.isfile(row.config):
                raise SystemExit(
                    f'config of row {row.name!r} not found: {row.config}')
            rows.append(row)
        for row in rows:
            if row.config not in self.budgets:
                self.budgets[row.config] = budget(row.config, self.args)
        trained = [r for r in rows if r.trained]
        budgets = {self.budgets[r.config]['stage1_epochs'] for r in trained}
        budgets2 = {self.budgets[r.config]['stage2_epochs'] for r in trained}
        if len(budgets) > 1 or len(budgets2) > 1:
            raise SystemExit('the rows\' configs have different budgets '
                             '(stage epochs); set --stage1-epochs and '
                             '--stage2-epochs')
        if self.args.dry_run:
            for i, row in enumerate(rows, 1):
                for cmd in self.commands(row).values():
                    print(f'[{i}/{len(rows)}] {row.name}: {show(cmd)}')
            return []
        ref = self.budgets[(trained or rows)[0].config]
        budget_info = dict(
            stage1_epochs=ref['stage1_epochs'],
            stage2_epochs=ref['stage2_epochs'],
            stage1_batch_size=ref['stage1_batch_size'],
            stage2_batch_size=ref['stage2_batch_size'],
            seed=ref['seed'],
            cfg_options=_flatten(self.args.cfg_options))
        self.check_out_dir(budget_info)
        self.budget_info = budget_info
        start = time.perf_counter()
        results = []
        for i, row in enumerate(rows, 1):
            results.append(self.run_row(row, i, len(rows)))
            print(f'[{i}/{len(rows)}] {row.name}: {results[-1]["status"]}; '
                  f'study so far {_minutes(time.perf_counter() - start)}',
                  flush=True)
        # The folder's table lists every finished row in it, also rows an
        # earlier or a parallel command ran (same budget: check_out_dir).
        ran = {r['name'] for r in results}
        for row in ROWS:
            if row.name not in ran:
                earlier = self.load_row(row)
                if earlier is not None and earlier.get('status') == 'done' \
                        and earlier.get('budget') == budget_info:
                    results.append(earlier)
        order = [r.name for r in ROWS]
        results.sort(key=lambda r: order.index(r['name']))
        info = dict(
            budget=budget_info,
            machine=machine(),
            finished=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
            # The rows' own times: a study resumed over several sessions
            # reports what its rows took, not the last session's time.
            wall_s=sum(
                r.get(f'{step}_wall_s', 0) for r in results
                for step in ('train', 'test', 'routes')))
        text = study_markdown(results, info)
        with open(osp.join(self.out_dir, 'study.md'), 'w',
                  encoding='utf-8') as f:
            f.write(text)
        with open(osp.join(self.out_dir, 'study.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(dict(info, rows=results), f, indent=2)
        print('\n' + text)
        print(f'wrote {osp.join(self.out_dir, "study.md")} and study.json')
        return results


def _mean_spread(values: Sequence[float]) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def collect_seeds(out_dir: str) -> Dict[str, Dict[int, dict]]:
    """Finished rows of every ``seed<S>`` folder of ``out_dir``:
    row name -> seed -> row result."""
    found: Dict[str, Dict[int, dict]] = {}
    if not osp.isdir(out_dir):
        return found
    for entry in sorted(os.listdir(out_dir)):
        match = re.fullmatch(r'seed(\d+)', entry)
        if not match:
            continue
        for row in ROWS:
            path = osp.join(out_dir, entry, row.name, 'row.json')
            if not osp.isfile(path):
                continue
            with open(path, encoding='utf-8') as f:
                res = json.load(f)
            if res.get('status') == 'done':
                found.setdefault(row.name, {})[int(match.group(1))] = res
    return found


def format_seed_summary(found: Dict[str, Dict[int, dict]]) -> str:
    """Mean ± standard deviation over seeds of each row, as Markdown."""
    sets: List[str] = []
    for per_seed in found.values():
        for res in per_seed.values():
            for name in res['metrics'].get('sets', {}):
                if name not in sets:
                    sets.append(name)
    header = (['Model', 'Seeds'] + [f'{s} PSNR' for s in sets] + [
        'Average PSNR', 'Average SSIM', 'Task paths, test (per seed)',
        'NMI test', 'Min purity test', 'Same path train/test',
        'Train wall'
    ])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in ROWS:
        per_seed = found.get(row.name)
        if not per_seed:
            continue
        seeds = sorted(per_seed)
        results = [per_seed[k] for k in seeds]

        def values(get):
            out = []
            for res in results:
                try:
                    out.append(float(get(res)))
                except (KeyError, TypeError):
                    pass
            return out

        cells = [row.label, ', '.join(map(str, seeds))]
        cells += [_mean_spread(values(
            lambda r, s=s: r['metrics']['sets'][s]['PSNR'])) for s in sets]
        cells.append(_mean_spread(values(
            lambda r: r['metrics']['average']['PSNR'])))
        ssim = values(lambda r: r['metrics']['average']['SSIM'])
        cells.append(f'{statistics.mean(ssim):.3f}' if ssim else '-')
        routes = [r.get('routes') for r in results]
        if all(routes):
            tests = [r.get('splits', {}).get('test') for r in routes]
            cells.append(', '.join(
                f'{t["task_paths"]}/{t["num_tasks"]}' if t else
                f'{r["task_paths"]}/{len(r["sets"])}'
                for t, r in zip(tests, routes)))
            cells.append(_mean_spread(
                [t['nmi'] for t in tests if t]))
            cells.append(_mean_spread(
                [t['min_purity'] for t in tests if t]))
            same = [r for r in routes if 'train_test_same' in r]
            cells.append(', '.join(
                f'{r["train_test_same"]}/{r["train_test_tasks"]}'
                for r in same) or '-')
        else:
            cells += ['-'] * 4
        wall = values(lambda r: r['train_wall_s'])
        cells.append(_minutes(statistics.mean(wall)) if wall and
                     row.trained else '-')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_seed_summary(out_dir: str) -> str:
    """Write ``summary.md`` and ``summary.json`` of ``out_dir``'s seeds."""
    found = collect_seeds(out_dir)
    text = '\n'.join([
        '# SLER-IR equal-budget study: mean ± standard deviation over seeds',
        '',
        'PSNR (dB) on RGB per test set and averaged over the sets; routes '
        'on the test images (task paths: distinct main paths of the '
        'tasks; NMI of path and task; the lowest per-task purity) and, '
        'for each task, whether its training patches take the same main '
        'path as its test images. Per-seed tables: seed<S>/study.md.', '',
        format_seed_summary(found), ''
    ])
    with open(osp.join(out_dir, 'summary.md'), 'w', encoding='utf-8') as f:
        f.write(text)
    with open(osp.join(out_dir, 'summary.json'), 'w', encoding='utf-8') as f:
        json.dump({name: {str(k): v for k, v in per_seed.items()}
                   for name, per_seed in found.items()}, f, indent=2)
    return text


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    if args.seeds is None:
        results = Study(args).run()
    else:
        results = []
        for seed in args.seeds:
            one = argparse.Namespace(**vars(args))
            one.seed, one.seeds = seed, None
            one.out_dir = osp.join(args.out_dir, f'seed{seed}')
            print(f'=== seed {seed}: {one.out_dir}', flush=True)
            results += Study(one).run()
        if not args.dry_run:
            print('\n' + write_seed_summary(args.out_dir))
            print(f'wrote {osp.join(args.out_dir, "summary.md")} and '
                  'summary.json')
    failed = [r['name'] for r in results if r.get('status') != 'done']
    if failed:
        print(f'rows that did not finish: {failed}; rerun the same command '
              'to retry them (finished rows are reused)')
        raise SystemExit(1)
    return results


if __name__ == '__main__':
    run_main(main)
