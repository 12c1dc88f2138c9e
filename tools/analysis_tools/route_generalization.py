"""Routes on photos and degradation mixes that are not in the mini
benchmark.

Routes 128 x 128 crops of scikit-image photos that the mini benchmark
neither trains nor tests on (default: clock, cell, colorwheel;
``--per-photo`` crops each) with each single degradation (the benchmark's
generators; noise at sigma 25, as its test sets) and with mixes of them
(components applied in the order named). Per degradation it reports the
main path (most common route), its purity, the number of distinct routes
and the share of images on the main path that degradation takes on the
mini test sets (``--routes``: the ``route_stats.json`` of the same
checkpoint); per mix, how many of the main path's layers equal each
component's test-set main path, whether the main path is a new one, and
the share of hybrid images (``sler_ir_mm.evaluation.composite_routes``).

``--summarize`` prints the tables of several results files instead.

Examples::

    python tools/analysis_tools/route_stats.py CONFIG CKPT --out-dir ROUTES
    python tools/analysis_tools/route_generalization.py CONFIG CKPT \\
        --routes ROUTES/route_stats.json --out generalization.json
    python tools/analysis_tools/route_generalization.py \\
        --summarize results/generalization/*.json
"""
import argparse
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402

from sler_ir_mm.datasets.generalization_photos import (  # noqa: E402
    MIXES, PHOTOS, TASKS, degrade, photo_crops)
from sler_ir_mm.evaluation.composite_routes import (  # noqa: E402
    mix_follow_stats)
from sler_ir_mm.evaluation.route_stats import (  # noqa: E402
    format_path, path_histogram)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402



def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Route photos and degradation mixes outside the mini '
        'benchmark and compare with the test sets\' main paths',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument(
        '--routes',
        help='route_stats.json of the same checkpoint (the test sets\' main '
        'paths)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--photos',
        nargs='+',
        default=list(PHOTOS),
        help=f'scikit-image photos (default: {" ".join(PHOTOS)})')
    parser.add_argument(
        '--per-photo',
        type=int,
        default=3,
        help='random crops per photo (default: 3)')
    parser.add_argument(
        '--tasks',
        nargs='+',
        default=list(TASKS),
        choices=TASKS,
        help='single degradations (default: all five)')
    parser.add_argument(
        '--mixes',
        nargs='*',
        default=list(MIXES),
        help=f'mixes, components joined by "+" in the order applied '
        f'(default: {" ".join(MIXES)})')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        help='default: cuda when available, else cpu')
    parser.add_argument(
        '--summarize',
        nargs='+',
        metavar='JSON',
        help='print the tables of these results files and exit')
    args = parser.parse_args(argv)
    if args.summarize:
        return args
    for name, flag in (('config', 'CONFIG'), ('checkpoint', 'CHECKPOINT'),
                       ('routes', '--routes'), ('out', '--out')):
        if getattr(args, name) is None:
            parser.error(f'give {flag} (or --summarize)')
    if args.per_photo < 1:
        parser.error(f'--per-photo must be >= 1, got {args.per_photo}')
    for mix in args.mixes:
        parts = mix.split('+')
        if len(parts) < 2 or len(set(parts)) != len(parts) or any(
                p not in TASKS for p in parts):
            parser.error(f'--mixes: {mix!r} must join two or more distinct '
                         f'degradations of {list(TASKS)} with "+"')
    return args


def main_paths_on_test_sets(route_stats: Mapping) -> Dict[str, List[int]]:
    """Task -> main path on the test sets, from a route_stats.json."""
    try:
        tasks = route_stats['splits']['test']['tasks']
    except KeyError:
        raise ValueError('--routes: not a route_stats.json with the test '
                         'split (route_stats.py --splits test)') from None
    return {t: list(v['main_path']) for t, v in tasks.items()}


def route_report(routes: np.ndarray, combo: Sequence[str],
                 test_paths: Mapping[str, Sequence[int]]) -> dict:
    """What the results file says of one degradation or mix."""
    hist = path_histogram(routes)
    main = list(hist[0][0])
    entry = dict(
        images=int(len(routes)),
        main_path=format_path(main),
        purity=hist[0][1] / len(routes),
        num_paths=len(hist))
    if len(combo) == 1:
        ref = test_paths.get(combo[0])
        entry['same_as_test_set'] = None if ref is None else float(
            np.mean([list(r) == list(ref) for r in routes.tolist()]))
        return entry
    known = [t for t in combo if t in test_paths]
    for task in known:
        entry[f'layers_like_{task}'] = int(
            (np.array(main) == np.array(test_paths[task])).sum())
    entry['new_path'] = main not in [list(p) for p in test_paths.values()]
    if len(known) >= 2:
        entry['hybrid_share'] = mix_follow_stats(
            routes, {t: test_paths[t]
                     for t in known})['hybrid_share']
    return entry


def route_generalization(model,
                         test_paths: Mapping[str, Sequence[int]],
                         photos: Sequence[str],
                         per_photo: int,
                         tasks: Sequence[str],
                         mixes: Sequence[str],
                         device: str = 'cpu') -> Dict[str, dict]:
    """Route every degradation and mix of the crops; return the report
    per degradation (``'a+b'`` for a mix)."""
    clean = photo_crops(photos, per_photo)
    report: Dict[str, dict] = OrderedDict()
    combos = [(t, ) for t in tasks] + [tuple(m.split('+')) for m in mixes]
    for index, combo in enumerate(combos):
        rng = np.random.default_rng([7, index])
        x = torch.from_numpy(
            np.stack([degrade(c, combo, rng)
                      for c in clean])).permute(0, 3, 1, 2)
        with torch.no_grad():
            routes = model.route(x.float().to(device)).indices.cpu().numpy()
        report['+'.join(combo)] = route_report(routes, combo, test_paths)
    return report


def summarize(paths: Sequence[str]) -> str:
    """The tables of several results files (named by their file names)."""
    rows: Dict[str, dict] = OrderedDict()
    for path in paths:
        with open(path, encoding='utf-8') as f:
            rows[osp.splitext(
                osp.basename(path))[0]] = json.load(f)['degradations']
    singles = [k for k in next(iter(rows.values())) if '+' not in k]
    mixes = [k for k in next(iter(rows.values())) if '+' in k]
    lines = [
        'Single degradations on the new photos: purity / share of images on '
        'the main path of the same degradation on the mini test set', '',
        '| model, seed | ' + ' | '.join(singles) + ' |',
        '|---|' + '---|' * len(singles)
    ]

    def share(value: Optional[float]) -> str:
        return '-' if value is None else f'{value:.2f}'

    for name, d in rows.items():
        lines.append(f'| {name} | ' + ' | '.join(
            f'{d[t]["purity"]:.2f} / {share(d[t]["same_as_test_set"])}'
            for t in singles) + ' |')
    if mixes:
        lines += [
            '', 'Mixes: layers (of 8) of the main path equal to each '
            'component\'s test-set main path', '',
            '| model, seed | ' + ' | '.join(mixes) + ' |',
            '|---|' + '---|' * len(mixes)
        ]
        for name, d in rows.items():
            lines.append(f'| {name} | ' + ' | '.join(' / '.join(
                f'{c} {d[mix].get("layers_like_" + c, "-")}'
                for c in mix.split('+')) for mix in mixes) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    if args.summarize:
        text = summarize(args.summarize)
        print(text)
        return dict(text=text)
    for what, path in (('config file', args.config),
                       ('checkpoint', args.checkpoint), ('--routes',
                                                         args.routes)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    with open(args.routes, encoding='utf-8') as f:
        test_paths = main_paths_on_test_sets(json.load(f))
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    from mmagic.registry import MODELS
    model = MODELS.build(cfg.model)
    if getattr(model, 'router', None) is None:
        raise SystemExit('route_generalization needs a routed model (a '
                         'router); this config\'s has none')
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    model = model.to(device).eval()
    report = route_generalization(model, test_paths, args.photos,
                                  args.per_photo, args.tasks, args.mixes,
                                  device)
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        photos=list(args.photos),
        test_paths={
            k: format_path(v)
            for k, v in test_paths.items()
        },
        degradations=report)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=2)
    for name, entry in report.items():
        print(name, entry)
    print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    run_main(main)
