"""Time and peak memory of restoring large photos, per tile setting.

Each measurement runs in a fresh process (so that its peak resident memory
is its own): it builds the model, makes a photo of the given size (a
scikit-image photo scaled up, with noise, deterministic) and restores it
with ``sler_ir_mm.apis.restore_image`` as ``restore_images.py`` and the
demo do, then reports the wall time of the restoration and the process's
peak resident memory (``ru_maxrss``: imports and model included). Weights
do not change time or memory, so the paper-size config is measured with
random encoder weights unless a checkpoint is given.

``--max-tiles K`` stops each run after its first K tiles and gives the
time of the whole photo as (time to route + K tiles) + the remaining
tiles at the mean time per tile: every tile of a setting has the same
shape, so the peak memory is reached within the first tiles and the time
per tile is steady (the figures say ``estimated``).

Example (the figures in docs/tools.md, "Large photos")::

    python tools/analysis_tools/benchmark_large_photos.py \\
        --sizes 2048x1536 4000x3000 --tiles auto 256 512 \\
        --out work_dirs/large_photos.json
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
import warnings
from typing import List, Optional, Sequence, Tuple

warnings.filterwarnings('ignore', category=FutureWarning)

DEFAULT_CONFIG = 'configs/sler_ir_5task.py'
# The paper config routes on DA-CLIP, whose weights are a local file; for
# time and memory random weights of the same shapes do.
RANDOM_ENCODER = {'model.degradation_encoder.random_init': True}


def parse_size(text: str) -> Tuple[int, int]:
    """'WxH' -> (width, height)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must be WIDTHxHEIGHT, e.g. 2048x1536, got {text!r}')
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f'size too small: {text}')
    return width, height


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time and peak resident memory of restoring large '
        'photos, per tile setting (one fresh process each)')
    parser.add_argument(
        '--config', default=DEFAULT_CONFIG,
        help=f'model config (default: {DEFAULT_CONFIG}, with random '
        'encoder weights unless --checkpoint is given)')
    parser.add_argument('--checkpoint', help='checkpoint (default: none)')
    parser.add_argument(
        '--sizes', type=parse_size, nargs='+',
        default=[(2048, 1536), (4000, 3000)],
        help='photo sizes WIDTHxHEIGHT (default: 2048x1536 4000x3000)')
    parser.add_argument(
        '--tiles', nargs='+', default=['auto'],
        help='tile settings: a size in pixels, "auto" (the default of '
        'restore_images.py and the demo) or "none" (whole image; large '
        'photos may exhaust memory) (default: auto)')
    parser.add_argument(
        '--tile-overlap', type=int, default=32,
        help='overlap of neighbouring tiles (default: 32)')
    parser.add_argument(
        '--threads', type=int, default=None,
        help='torch threads (default: torch\'s, i.e. the cores)')
    parser.add_argument(
        '--max-tiles', type=int, default=None,
        help='stop each run after this many tiles and extrapolate the time '
        '(default: restore whole photos)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--one', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for tile in args.tiles:
        if tile not in ('auto', 'none') and not tile.isdigit():
            parser.error(f'--tiles: {tile!r} is not a size, "auto" or '
                         '"none"')
    return args


def make_photo(width: int, height: int):
    """A deterministic noisy photo of the size (uint8 RGB)."""
    import cv2
    import numpy as np
    from sler_ir_mm.datasets.mini_benchmark import load_photo
    photo = cv2.resize(load_photo('chelsea'), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    noisy = photo.astype(np.float32) + rng.normal(0, 15, photo.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


class _EnoughTiles(Exception):
    """Raised from the progress callback to stop after --max-tiles."""


def measure_one(args: argparse.Namespace) -> dict:
    """In the child process: build, restore once, report."""
    import torch
    import sler_ir_mm  # noqa: F401  (runtime fixes before mmagic)
    from sler_ir_mm.apis import auto_tile, init_restorer, restore_image
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height, tile = json.loads(args.one)
    options = None if args.checkpoint else dict(RANDOM_ENCODER)
    model = init_restorer(args.config, args.checkpoint, 'cpu', options)
    photo = make_photo(width, height)
    ticks = []  # (time, done, total) after each tile

    def progress(done: int, total: int) -> None:
        ticks.append((time.perf_counter(), done, total))
        if args.max_tiles and done >= args.max_tiles and done < total:
            raise _EnoughTiles

    tile_arg = None if tile == 'none' else (
        'auto' if tile == 'auto' else int(tile))
    tic = time.perf_counter()
    estimated = False
    try:
        result = restore_image(model, photo, tile=tile_arg,
                               tile_overlap=args.tile_overlap,
                               progress=progress)
        assert result.image.shape == photo.shape
        seconds = time.perf_counter() - tic
    except _EnoughTiles:
        # Routing and the first tile, then the mean of the other tiles.
        first, (last, done, total) = ticks[0][0], ticks[-1]
        per_tile = (last - first) / max(done - 1, 1)
        seconds = first - tic + per_tile * (total - 1)
        estimated = True
    used = auto_tile(height, width) if tile == 'auto' else tile_arg
    return dict(width=width, height=height, tile_setting=tile,
                tile=used, tiles=ticks[-1][2] if ticks else 1,
                tiles_run=ticks[-1][1] if ticks else 1,
                estimated=estimated,
                seconds=round(seconds, 1),
                peak_rss_gb=round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss /
                    2**20, 2),
                threads=torch.get_num_threads())


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    args = parse_args(argv)
    if args.one:
        print('RESULT ' + json.dumps(measure_one(args)), flush=True)
        return []
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    rows = []
    for width, height in args.sizes:
        for tile in args.tiles:
            cmd = [sys.executable, __file__, '--config', args.config,
                   '--tile-overlap', str(args.tile_overlap), '--one',
                   json.dumps([width, height, tile])]
            if args.checkpoint:
                cmd += ['--checkpoint', args.checkpoint]
            if args.threads:
                cmd += ['--threads', str(args.threads)]
            if args.max_tiles:
                cmd += ['--max-tiles', str(args.max_tiles)]
            print(f'{width}x{height}, tile {tile}: running', flush=True)
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [line for line in proc.stdout.splitlines()
                     if line.startswith('RESULT ')]
            if proc.returncode != 0 or not lines:
                tail = (proc.stderr or proc.stdout).strip()[-600:]
                row = dict(width=width, height=height, tile_setting=tile,
                           error=f'exit {proc.returncode}: {tail}')
            else:
                row = json.loads(lines[-1][len('RESULT '):])
            rows.append(row)
            print(json.dumps(row), flush=True)
    print('\n| photo | tile setting | tile | tiles | time (s) | peak '
          'resident memory (GB) |\n|---|---|---|---|---|---|')
    for row in rows:
        if 'error' in row:
            print(f'| {row["width"]} x {row["height"]} | '
                  f'{row["tile_setting"]} | failed: {row["error"][:60]} |')
            continue
        seconds = f'{row["seconds"]}' + (
            f' (estimated from {row["tiles_run"]} tiles)'
            if row['estimated'] else '')
        print(f'| {row["width"]} x {row["height"]} | {row["tile_setting"]} '
              f'| {row["tile"]} | {row["tiles"]} | {seconds} | '
              f'{row["peak_rss_gb"]} |')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(config=args.config, rows=rows), f, indent=2)
    return rows


if __name__ == '__main__':
    # As restore_images.py and the demo: the tools' allocator setting
    # (freed memory kept in the process) is part of what is measured.
    from sler_ir_mm.utils.cli import run_main
    run_main(main)
