"""Restore your own images (a file, a folder or a glob) with a checkpoint.

Writes ``<out-dir>/<name>.png`` for each input (gray stays gray, RGBA keeps
its alpha; 16-bit inputs give 8-bit outputs); for a SLER-IR model also
``recognition.json`` (per image: the degradation the encoder recognised, a
score per known degradation, whether the image looks unlike every trained
one, and the expert path) and one log line per image; with
``--show-route`` also ``<name>_route.png`` (the route through the experts,
paper Fig. 4 style) and ``routes.json``. Large images are restored in
tiles by default (``--tile auto``). A file that cannot be read or restored is reported at the
end and the tool exits with code 1; the other files are still written.

Examples::

    python tools/restore_images.py CONFIG CKPT photo.jpg --out-dir results
    python tools/restore_images.py CONFIG CKPT photos/ --out-dir results \\
        --recursive --show-route
    python tools/restore_images.py CONFIG CKPT 'shots/*.png' --out-dir out \\
        --tile 256 --tile-overlap 32 --device cuda
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import warnings
from collections import Counter
from typing import Dict, List, Tuple

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the output.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore',
    message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2, safe
# torch.load).
import sler_ir_mm  # noqa: F401,E402,I001
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from sler_ir_mm.apis import IMAGE_EXTENSIONS  # noqa: E402
from sler_ir_mm.apis import init_restorer, restore_image  # noqa: E402
from sler_ir_mm.apis.tiling import (AUTO_TILE_MIN_PIXELS,  # noqa: E402
                                    DEFAULT_TILE)
from sler_ir_mm.utils.cli import (TRACEBACK_EPILOG, run_main,  # noqa: E402
                                  show_traceback)

_GLOB_CHARS = '*?['


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Restore images (any size, gray/RGB/RGBA, 8/16 bit)',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'input',
        help='an image file, a folder of images, or a quoted glob pattern '
        "such as 'photos/*.jpg'")
    parser.add_argument(
        '--out-dir', required=True, help='folder for the restored images')
    parser.add_argument(
        '--recursive',
        action='store_true',
        help='also take images in sub-folders (folder and ** glob inputs); '
        'outputs keep the sub-folder layout')
    parser.add_argument(
        '--tile',
        default='auto',
        help='restore in tiles of this size (>= 8) to bound memory on large '
        f'images; "auto": tiles of {DEFAULT_TILE} for images over '
        f'{AUTO_TILE_MIN_PIXELS} pixels; "none": whole images '
        '(default: auto)')
    parser.add_argument(
        '--tile-overlap',
        type=int,
        default=None,
        help='overlap of neighbouring tiles in pixels (default: 32, or a '
        'quarter of a tile smaller than 128)')
    parser.add_argument(
        '--device',
        default=None,
        help='cpu, cuda or cuda:N (default: cuda if available, else cpu)')
    parser.add_argument(
        '--show-route',
        action='store_true',
        help='also draw each image\'s route through the experts '
        '(<name>_route.png) and write routes.json (SLER-IR models only)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.test_cfg.routing=hard')
    args = parser.parse_args(argv)
    if args.tile == 'none':
        args.tile = None
    elif args.tile != 'auto':
        try:
            args.tile = int(args.tile)
        except ValueError:
            parser.error('--tile must be a size in pixels, "auto" or '
                         f'"none", got {args.tile!r}')
        if args.tile < 8:
            parser.error(f'--tile must be >= 8, got {args.tile}')
    size = DEFAULT_TILE if args.tile == 'auto' else args.tile
    if args.tile_overlap is None:
        args.tile_overlap = 32 if size is None else min(32, size // 4)
    if args.tile_overlap < 0 or (size is not None
                                 and args.tile_overlap >= size):
        parser.error('--tile-overlap must be >= 0 and smaller than --tile, '
                     f'got {args.tile_overlap}')
    return args


def _is_image(path: str) -> bool:
    return osp.isfile(path) and osp.splitext(path)[1].lower() in \
        IMAGE_EXTENSIONS


def collect_inputs(pattern: str, recursive: bool) -> Tuple[List[str], str]:
    """The input files, sorted, and the folder output names are relative to.

    Args:
        pattern (str): A file, a folder or a glob pattern.
        recursive (bool): Walk sub-folders (and let ``**`` match them).

    Returns:
        tuple: (files, base folder).
    """
    if osp.isfile(pattern):
        # An explicit file is taken whatever its extension.
        return [pattern], osp.dirname(pattern)
    if osp.isdir(pattern):
        if recursive:
            files = [
                osp.join(root, name)
                for root, _, names in os.walk(pattern, followlinks=True)
                for name in names
            ]
        else:
            files = [osp.join(pattern, name) for name in os.listdir(pattern)]
        base = pattern
    elif any(ch in pattern for ch in _GLOB_CHARS):
        files = glob.glob(pattern, recursive=recursive)
        base = osp.commonpath([osp.dirname(osp.abspath(f))
                               for f in files]) if files else ''
        files = [osp.abspath(f) for f in files]
    else:
        raise SystemExit(f'input not found: {pattern} (give an image file, '
                         'a folder or a glob pattern)')
    files = sorted(f for f in files if _is_image(f))
    if not files:
        raise SystemExit(
            f'no images found in {pattern} (extensions: '
            f'{", ".join(IMAGE_EXTENSIONS)}'
            f'{"" if recursive else "; --recursive for sub-folders"})')
    return files, base


def output_names(files: List[str], base: str) -> Dict[str, str]:
    """Output path stem (relative to the out dir) of each input file.

    ``a.jpg`` -> ``a``; when two inputs share a stem (``a.jpg``,
    ``a.png``), both keep their extension (``a_jpg``, ``a_png``) so no
    output overwrites another.
    """
    stems = {f: osp.splitext(osp.relpath(f, base or '.'))[0] for f in files}
    taken: Dict[str, List[str]] = {}
    for f, stem in stems.items():
        taken.setdefault(stem, []).append(f)
    names = {}
    for stem, group in taken.items():
        for f in group:
            names[f] = stem if len(group) == 1 else \
                f'{stem}_{osp.splitext(f)[1][1:].lower()}'
    return names


def write_image(path: str, image: np.ndarray) -> None:
    """Write a uint8 gray / BGR / BGRA image as PNG (non-ASCII paths too)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    ok, data = cv2.imencode('.png', image)
    if not ok:
        raise OSError(f'cannot encode {path} as PNG')
    data.tofile(path)


def _failure_reason(error: Exception) -> str:
    reason = f'{type(error).__name__}: {str(error).strip()}'
    if isinstance(error, torch.cuda.OutOfMemoryError) or \
            'out of memory' in str(error):
        reason += ' (try --tile 512, or smaller)'
    return reason


def _progress(items: list):
    try:
        from tqdm import tqdm
    except ImportError:
        from mmengine.utils import track_iter_progress
        return track_iter_progress(items)
    return tqdm(items, desc='restoring', unit='image', file=sys.stderr)


def _write_line(bar, text: str) -> None:
    """Print a line without breaking the progress bar."""
    write = getattr(bar, 'write', None)
    if write is not None:
        write(text, file=sys.stdout)
    else:
        print(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} file not found: {path}')
    files, base = collect_inputs(args.input, args.recursive)
    names = output_names(files, base)
    out_paths = {f: osp.join(args.out_dir, names[f] + '.png') for f in files}
    route_paths = {
        f: osp.join(args.out_dir, names[f] + '_route.png')
        for f in files
    } if args.show_route else {}
    outputs = [
        osp.abspath(p) for p in [*out_paths.values(), *route_paths.values()]
    ]
    inputs = {osp.abspath(f) for f in files}
    clashes = sorted(set(outputs) & inputs)
    if clashes:
        raise SystemExit(f'--out-dir {args.out_dir} would overwrite the '
                         f'input {clashes[0]}; choose another folder')
    twice = sorted(p for p, n in Counter(outputs).items() if n > 1)
    if twice:
        raise SystemExit(f'two inputs would write the same output {twice[0]}'
                         '; rename one of them')

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        model = init_restorer(args.config, args.checkpoint, device,
                              args.cfg_options)
    except (RuntimeError, ValueError, KeyError, OSError) as e:
        if show_traceback():
            raise
        # A bad device, config or checkpoint: say so without a traceback.
        raise SystemExit(f'cannot build the model: {e}')
    num_experts = getattr(
        getattr(model, 'generator', None), 'num_experts', None)
    if args.show_route and not hasattr(model, 'restore_with_route'):
        raise SystemExit(
            f'--show-route: {type(model).__name__} ({args.config}) does not '
            'route; only SLER-IR models have a route')
    if args.show_route:
        from sler_ir_mm.visualization import save_route_figure

    os.makedirs(args.out_dir, exist_ok=True)
    routes: Dict[str, list] = {}
    recognitions: Dict[str, dict] = {}
    failures: List[Tuple[str, str]] = []
    bar = _progress(files)
    for path in bar:
        try:
            result = restore_image(
                model,
                path,
                tile=args.tile,
                tile_overlap=args.tile_overlap,
                channel_order='bgr')
            write_image(out_paths[path], result.image)
            rel = osp.relpath(path, base or '.')
            if result.recognition is not None:
                recognitions[rel] = result.recognition.to_dict()
                _write_line(bar, f'{rel}: {result.recognition.describe()}')
            if args.show_route:
                routes[rel] = result.route.tolist()
                save_route_figure(
                    route_paths[path], result.route, num_experts, title=rel)
        except Exception as e:  # report it and go on with the others
            failures.append((path, _failure_reason(e)))
    if args.show_route:
        with open(
                osp.join(args.out_dir, 'routes.json'), 'w',
                encoding='utf-8') as f:
            json.dump(routes, f, indent=2)
    if recognitions:
        with open(
                osp.join(args.out_dir, 'recognition.json'), 'w',
                encoding='utf-8') as f:
            json.dump(recognitions, f, indent=2)

    done = len(files) - len(failures)
    print(f'restored {done} of {len(files)} image(s) into {args.out_dir}')
    if failures:
        print(f'{len(failures)} image(s) failed:', file=sys.stderr)
        for path, reason in failures:
            print(f'  {path}: {reason}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
