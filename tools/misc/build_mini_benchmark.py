"""Build the embedded mini benchmark (five synthetic degradations of
scikit-image's sample photos) into a folder.

The mini configs build it on first use; this tool builds it ahead of time
or again (``--force``). Deterministic: the same scikit-image and OpenCV
versions give the same bytes (the folder's MANIFEST.json lists the SHA-256
of every file).

Example::

    python tools/misc/build_mini_benchmark.py data/sler_ir_mini5
"""
import argparse
import json
import os.path as osp
import time
import warnings

warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
from sler_ir_mm.datasets.mini_benchmark import (  # noqa: E402
    MANIFEST, build_mini_benchmark, read_manifest)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build the embedded 5-task mini benchmark',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument(
        'root', nargs='?', default='data/sler_ir_mini5',
        help='folder to create (default: data/sler_ir_mini5, the mini '
        'configs\' data_root)')
    parser.add_argument(
        '--force', action='store_true',
        help='rebuild even if a complete copy is there')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.time()
    try:
        build_mini_benchmark(args.root, force=args.force)
    except FileExistsError as err:
        raise SystemExit(str(err))
    manifest = read_manifest(args.root)
    print(f'mini benchmark v{manifest["version"]} in '
          f'{osp.abspath(args.root)}: {len(manifest["files"])} files '
          f'({time.time() - start:.1f} s); train photos '
          f'{", ".join(manifest["train_photos"])}; test photos '
          f'{", ".join(manifest["test_photos"])}; see '
          f'{osp.join(args.root, MANIFEST)}')
    if manifest.get('scikit_image'):
        print(json.dumps({k: manifest[k] for k in ('scikit_image',
                                                   'opencv')}))


if __name__ == '__main__':
    run_main(main)
