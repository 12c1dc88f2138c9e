"""Does SLER-IR's design pay off? The equal-budget study on the embedded
mini benchmark (the small-scale counterpart of the paper's Tables 2-6, on
single degradations and on mixes).

The rows are the models of ``metafile.yml`` with a ``Study`` entry (its
``Row`` is the name ``--rows`` takes; ``Default: false`` leaves it out of
the default list; ``Baseline`` names the row without routing it is
measured against), after ``degraded_input``: the degraded inputs scored.
``--help`` lists them. Each row trains with its config's data, epochs and
batch sizes (or ``--stage1-epochs`` / ``--stage2-epochs`` for every row)
under each seed of ``--seeds``.

Per row and seed: ``tools/train.py``, ``tools/test.py`` on the last
epoch's checkpoint and, for routed models,
``tools/analysis_tools/route_stats.py``; every command is printed before it
runs. Their outputs (logs, dumped configs, checkpoints, pictures) go to
``--work-dir``/seed<S>/<row>; the scores are read from the files the tools
write there (``results.json``, ``route_stats.json``, MMEngine's
``scalars.json``). The summary over seeds (``summary.json``,
``summary.md``: per row the mean and spread of the single-set and
composite-set scores, margins over the baseline, harm rates, routes and
hybrid paths of the mixes, and the checks of the composite study's goals)
goes to ``--out-dir``: the results folder to keep.

A stopped study picks up where it was: a finished row is reused, a row
whose training stopped is resumed from its last checkpoint
(``tools/train.py --resume CKPT``), a trained row whose test stopped is
tested. A row run with another budget is refused (``--rerun`` runs it
again and keeps the old work dir).

Examples::

    python tools/analysis_tools/run_study.py --rows all --dry-run
    python tools/analysis_tools/run_study.py --seeds 0 1 2 \\
        --rows degraded_input restormer sler_ir classifier_l1_cls \\
        --work-dir work_dirs/mini_study_v2 --out-dir results/mini_study_v2
    python tools/analysis_tools/run_study.py --rows restormer sler_ir \\
        --stage1-epochs 2 --stage2-epochs 4 --work-dir work_dirs/study_short
    python tools/analysis_tools/run_study.py --summarize \\
        --work-dir work_dirs/mini_study_v2 --out-dir results/mini_study_v2
"""
import argparse
import datetime
import json
import os.path as osp
import shlex
import sys
import warnings
from typing import List, Optional, Sequence

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
from mmengine.config import DictAction  # noqa: E402

from sler_ir_mm.datasets.mini_benchmark import BENCHMARK_VERSION  # noqa: E402
from sler_ir_mm.study import (StudyRunner, collect_records,  # noqa: E402
                              load_study_rows, select_rows, write_json,
                              write_summary)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The models and their study rows (next to tools/ in a clone and in the
# package's .mim folder).
METAFILE = osp.join(REPO, 'metafile.yml')
ROWS = load_study_rows(METAFILE)
DATASET = f'sler_ir_mm mini 5-task benchmark v{BENCHMARK_VERSION}'
# The study's command lines, kept in its work dir for the summary.
INVOCATIONS = 'study_commands.json'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    names = [r.name for r in ROWS]
    parser = argparse.ArgumentParser(
        description='Train and test the SLER-IR ablations and the Restormer '
        'baselines at an equal budget on the mini benchmark, over seeds, '
        'and summarise them',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument(
        '--rows',
        nargs='+',
        metavar='ROW',
        help=f'rows to run, in this order, or "all" (default: '
        f'{" ".join(r.name for r in ROWS if r.default)}; choices: '
        f'{" ".join(names)})')
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        metavar='S',
        help='randomness.seed of every row, one run per seed (default: 0)')
    seeds.add_argument('--seed', type=int, help='one seed (= --seeds S)')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/study',
        help='where the runs go: <work-dir>/seed<S>/<row> (logs, configs, '
        'checkpoints, route pictures, row.json) (default: work_dirs/study)')
    parser.add_argument(
        '--out-dir',
        help='where the summary over seeds goes (summary.json, summary.md), '
        'e.g. a results folder (default: the work dir)')
    parser.add_argument(
        '--stage1-epochs',
        type=int,
        help='epochs of stage 1 for every row (with --stage2-epochs; '
        'default: each config\'s)')
    parser.add_argument(
        '--stage2-epochs',
        type=int,
        help='epochs of stage 2 for every row (with --stage1-epochs)')
    parser.add_argument(
        '--rerun',
        action='store_true',
        help='run the rows again even if the work dir has them (their old '
        'work dirs are kept, renamed *.old-<time>)')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the commands of a fresh start and exit')
    parser.add_argument(
        '--summarize',
        action='store_true',
        help='run nothing: write the summary of the finished rows in the '
        'work dir')
    parser.add_argument(
        '--dataset',
        default=DATASET,
        help=f'what the summary says the data is (default: "{DATASET}")')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides for every row, e.g. '
        'train_dataloader.num_workers=2')
    args = parser.parse_args(argv)
    try:
        args.rows = [r.name for r in select_rows(ROWS, args.rows)]
    except ValueError as err:
        parser.error(f'--rows: {err}')
    if args.seed is not None:
        args.seeds = [args.seed]
    args.seeds = args.seeds if args.seeds is not None else [0]
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds: a seed is given twice: {args.seeds}')
    for flag in ('stage1_epochs', 'stage2_epochs'):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f'--{flag.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    given = [args.stage1_epochs is not None, args.stage2_epochs is not None]
    if any(given) and not all(given):
        parser.error('give --stage1-epochs and --stage2-epochs together')
    args.stage_epochs = ((args.stage1_epochs, args.stage2_epochs)
                         if all(given) else None)
    args.out_dir = args.out_dir or args.work_dir
    return args


def resolve_rows(names: Sequence[str]) -> list:
    """The rows named, their configs found from the current folder or the
    repository (the tools of a mim install run from elsewhere)."""
    rows = []
    for row in select_rows(ROWS, names):
        if not osp.isfile(row.config) and osp.isfile(
                osp.join(REPO, row.config)):
            row = row._replace(config=osp.join(REPO, row.config))
        rows.append(row)
    return rows


def remember_invocation(work_dir: str, argv: Sequence[str]) -> List[str]:
    """Add this command line to the work dir's list; return the list."""
    path = osp.join(work_dir, INVOCATIONS)
    done: List[str] = []
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            done = json.load(f).get('commands', [])
    line = ' '.join(['python', 'tools/analysis_tools/run_study.py'] +
                    [shlex.quote(a) for a in argv])
    if line not in done:
        done.append(line)
    write_json(path, dict(commands=done))
    return done


def summarize(args: argparse.Namespace, invocations: List[str]) -> dict:
    """Write the summary of every finished row of the work dir."""
    records = collect_records(args.work_dir, ROWS)
    # Where the rows ran (not where the summary is written).
    machines = {r['machine'] for per in records.values()
                for r in per.values() if r.get('machine')}
    info = dict(
        dataset=args.dataset,
        machine='; '.join(sorted(machines)) or None,
        finished=datetime.datetime.now().strftime('%Y-%m-%d %H:%M'),
        commands=invocations,
        work_dir=args.work_dir)
    summary = write_summary(args.out_dir, ROWS, records, info)
    with open(osp.join(args.out_dir, 'summary.md'), encoding='utf-8') as f:
        print('\n' + f.read())
    print(f'wrote {osp.join(args.out_dir, "summary.md")} and summary.json')
    return summary


def main(argv: Optional[Sequence[str]] = None, popen=None) -> List[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    rows = resolve_rows(args.rows)
    if args.summarize:
        path = osp.join(args.work_dir, INVOCATIONS)
        invocations = []
        if osp.isfile(path):
            with open(path, encoding='utf-8') as f:
                invocations = json.load(f).get('commands', [])
        summarize(args, invocations)
        return []
    runners = [
        StudyRunner(rows, args.work_dir, seed, REPO, args.stage_epochs,
                    args.cfg_options, args.rerun, popen)
        for seed in args.seeds
    ]
    if args.dry_run:
        for runner in runners:
            runner.print_commands()
        return []
    invocations = remember_invocation(args.work_dir, argv)
    results = []
    for runner in runners:
        print(f'=== seed {runner.seed}: {runner.dir}', flush=True)
        results += runner.run()
        # The seed's own table, next to its runs: every finished row of
        # the seed folder (also rows of earlier commands).
        found = collect_records(args.work_dir, ROWS)
        of_seed = {name: {runner.seed: per[runner.seed]}
                   for name, per in found.items() if runner.seed in per}
        write_summary(runner.dir, ROWS, of_seed, dict(dataset=args.dataset),
                      name='study',
                      title=f'Equal-budget study, seed {runner.seed}')
    summarize(args, invocations)
    failed = [f'{r["name"]} (seed {r.get("seed")})' for r in results
              if r.get('status') != 'done']
    if failed:
        raise SystemExit(f'rows that did not finish: {", ".join(failed)}; '
                         'run the same command again to retry them '
                         '(finished rows are reused)')
    return results


if __name__ == '__main__':
    run_main(main)
