"""Evaluate a checkpoint on a config's test sets.

Ends by printing a results table, one row per test set (images, PSNR ± SE,
SSIM, input PSNR, harm rate, worst loss, and scikit-image's PSNR/SSIM when
the config reports them) and the average rows (single degradations,
composites, all sets), and writes it to the run's log dir (``results.json``,
``results.md``).

Examples::

    python tools/test.py configs/smoke/sler_ir_smoke.py work_dirs/sler_ir_smoke/epoch_4.pth
    python tools/test.py configs/sler_ir_mini_5task.py --degraded-inputs  # the inputs' scores
    bash tools/dist_test.sh CONFIG CKPT 8
"""
import argparse
import json
import os
import os.path as osp
import warnings

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the log.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore', message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2, safe
# torch.load).
import sler_ir_mm  # noqa: F401,E402,I001
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from sler_ir_mm.engine import (CheckpointMismatchError,  # noqa: E402
                               UnreadableCheckpointError,
                               check_checkpoint_matches)
from sler_ir_mm.engine.dist_backend import close_distributed  # noqa: E402
from sler_ir_mm.engine.run_config import (finish_run_config,  # noqa: E402
                                          load_run_config)
from sler_ir_mm.engine.checkpoint_check import (  # noqa: E402
    check_is_checkpoint)
from sler_ir_mm.evaluation import (format_results_table,  # noqa: E402
                                   summarize_metrics)
from sler_ir_mm.utils.cli import (TRACEBACK_EPILOG, run_main,  # noqa: E402
                                  show_traceback)


class CollectTestMetrics(Hook):
    """Keeps the metrics of the test epoch (MMagic's MultiTestLoop.run
    returns nothing)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.metrics: dict = {}

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a model', epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint file (not with '
        '--degraded-inputs)')
    parser.add_argument(
        '--degraded-inputs',
        action='store_true',
        help='score the degraded inputs themselves against the ground '
        'truth (no model, no checkpoint): the "Input" row of a results '
        'table')
    parser.add_argument(
        '--no-strict-load',
        action='store_true',
        help='evaluate a checkpoint that does not fully match the model '
        '(only the matching weights are loaded); by default a mismatch '
        'stops before testing')
    parser.add_argument(
        '--work-dir',
        help='where logs and results go '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='also write the raw metrics to this JSON file (the results '
        'table always goes to the run\'s log dir as results.json/.md)')
    parser.add_argument(
        '--data-root',
        help='read every dataset of the config from this folder instead of '
        'the config\'s data_root (e.g. where your all-in-one data lives)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. test_dataloader.0.batch_size=1')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed testing')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace) -> Config:
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    if args.degraded_inputs:
        if args.checkpoint is not None:
            raise SystemExit('--degraded-inputs scores the inputs: give no '
                             'checkpoint')
    elif args.checkpoint is None:
        raise SystemExit('give a checkpoint (or --degraded-inputs)')
    elif not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = load_run_config(args.config, args.cfg_options, args.launcher)
    finish_run_config(cfg, args.config, args.data_root, args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.degraded_inputs:
        # The prediction is the input: same data, metrics and table.
        cfg.model = dict(
            type='BaseEditModel',
            generator=dict(type='IdentityNet'),
            pixel_loss=dict(type='L1Loss'),
            data_preprocessor=cfg.model.get(
                'data_preprocessor', dict(type='DataPreprocessor')))
        # DistributedDataParallel refuses a model without parameters; this
        # wrapper wraps only submodules that have some (here none).
        cfg.model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
    return cfg


def report(runner, metrics: dict, out: str = None) -> None:
    """Print the results table and write it (JSON, Markdown) to the run's
    log dir, and the raw metrics to ``out`` if given."""
    summary = summarize_metrics(metrics)
    table = format_results_table(summary)
    print_log('Results (per test set, then averages):\n' + table,
              logger='current')
    with open(osp.join(runner.log_dir, 'results.json'), 'w',
              encoding='utf-8') as f:
        json.dump(dict(summary, metrics=metrics), f, indent=2)
    with open(osp.join(runner.log_dir, 'results.md'), 'w',
              encoding='utf-8') as f:
        f.write(table + '\n')
    if out:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w', encoding='utf-8') as f:
            json.dump(metrics, f, indent=2)


def check_checkpoint(model, path: str) -> None:
    """Refuse a checkpoint that is not one, or does not fit the model (as
    tools/train.py does): --no-strict-load is offered for a mismatch only.
    """
    try:
        check_is_checkpoint(path)
        check_checkpoint_matches(model, path)
    except UnreadableCheckpointError as err:
        if show_traceback():
            raise
        raise SystemExit(f'{err}\nNothing was evaluated.')
    except CheckpointMismatchError as err:
        if show_traceback():
            raise
        raise SystemExit(
            f'{err}\nNothing was evaluated. To evaluate with only the '
            'matching weights on purpose, pass --no-strict-load.')


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg)
    if cfg.load_from and not args.no_strict_load:
        # MMEngine would load a mismatching checkpoint with warnings only
        # and report the scores of a partly random model.
        check_checkpoint(runner.model, cfg.load_from)
    collector = CollectTestMetrics()
    runner.register_hook(collector)
    runner.test()
    metrics = {k: float(v) for k, v in collector.metrics.items()}
    if runner.rank == 0:
        report(runner, metrics, args.out)
    close_distributed()
    return metrics


if __name__ == '__main__':
    run_main(main)
