"""Check the datasets of a config before training or testing.

Builds each leaf dataset of the train/val/test dataloaders on its own (so
one bad dataset does not hide the others), then reads and decodes every
image file the samples name. Prints a table per split and each problem
with its file: a missing or empty folder, degraded images without a clean
pair (the dataset's own build error), missing, empty or undecodable image
files, clean images whose size differs from their degraded image, and
(in pipelines that crop training patches) images smaller than the patch.
Needs no model and no GPU. Exits 1 when anything is wrong, 0 otherwise.

Examples::

    python tools/misc/check_dataset.py configs/smoke/sler_ir_smoke.py
    python tools/misc/check_dataset.py CONFIG --splits test --no-decode \
        --data-root /data/allinone
"""
import argparse
import sys
import warnings

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the output.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore', message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from sler_ir_mm.datasets.data_root import set_data_root  # noqa: E402
from sler_ir_mm.datasets.dataset_check import (  # noqa: E402
    SPLITS, check_config_datasets, default_num_workers, format_reports,
    quiet_metainfo_notices)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check the datasets of a config (folders, pairs, image '
        'files)',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=SPLITS,
        default=list(SPLITS),
        help='dataloaders to check (default: all three)')
    parser.add_argument(
        '--no-decode',
        action='store_true',
        help='only check that the files exist and are not empty (fast); '
        'by default every image is decoded and paired sizes compared')
    parser.add_argument(
        '--workers',
        type=int,
        default=default_num_workers(),
        help='threads reading the files (default: up to 8)')
    parser.add_argument(
        '--max-listed',
        type=int,
        default=20,
        help='problems listed per dataset; 0 lists all (default: 20)')
    parser.add_argument(
        '--data-root',
        help='read every dataset of the config from this folder instead of '
        'the config\'s data_root')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'test_dataloader.0.dataset.data_root=data/other')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    if args.max_listed < 0:
        parser.error(f'--max-listed must be >= 0, got {args.max_listed}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = Config.fromfile(args.config)
    except FileNotFoundError:
        raise SystemExit(f'config file not found: {args.config}')
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root is not None:
        try:
            set_data_root(cfg, args.data_root)
        except ValueError as err:
            raise SystemExit(f'--data-root: {err}')
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    quiet_metainfo_notices()
    reports = check_config_datasets(
        cfg,
        splits=args.splits,
        decode=not args.no_decode,
        num_workers=args.workers,
        progress=True)
    if not reports:
        print(f'{args.config} has no dataset in its '
              f'{", ".join(s + "_dataloader" for s in args.splits)}')
        return 1
    print(format_reports(reports, max_listed=args.max_listed))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == '__main__':
    sys.exit(run_main(main))
