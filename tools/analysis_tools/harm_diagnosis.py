"""Why does SLER-IR make some images worse than their input: the route or
the experts?

For every image of every set it restores the image three ways and compares
each with the degraded input (PSNR against the clean image):

- ``own``: along the image's own hard route (what inference does);
- ``oracle``: along the main path its degradation takes on the *training*
  patches (``route_stats.json`` of the same checkpoint; for a mix, the best
  of its components' paths per image): the route a perfect recogniser
  would give;
- ``soft``: with every layer's experts mixed by the router's
  probabilities (``test_cfg.routing='soft'``);
- ``snap``: along the training main path of the degradation the frozen
  encoder recognises (its prototypes' top score, as ``restore_image``
  reports it): routing by recognition instead of by the centers.

If harm stays with the oracle route, the experts on that path are the
cause, not the routing; if the oracle removes it, wrong routes are. It also
reports each image's routing confidence (the lowest top-expert
probability over the layers) and, for any confidence threshold, the
"soft when unsure" policy (soft routing for the images below it), so that
a threshold can be chosen on the validation split (``--split val``: the ten
sets made from the mini benchmark's *training* photos) and only then read
on the test sets.

Example::

    python tools/analysis_tools/harm_diagnosis.py CONFIG CKPT \\
        --routes ROUTES/route_stats.json --split val --out val.json
"""
import argparse
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sler_ir_mm.apis import init_restorer  # noqa: E402
from sler_ir_mm.datasets.dataset_cfgs import \
    quiet_metainfo_notices  # noqa: E402
from sler_ir_mm.datasets.evaluation_images import (  # noqa: E402
    config_test_sets, mini_validation_sets)
from sler_ir_mm.datasets.mini_benchmark import TRAIN_PHOTOS  # noqa: E402
from sler_ir_mm.evaluation.route_stats import \
    training_paths  # noqa: E402
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

WAYS = ('own', 'oracle', 'soft', 'snap')
#: Confidence thresholds the "soft when unsure" policy is reported at.
THRESHOLDS = (0.0, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Harm of own, oracle and soft routes per image, on the '
        'test sets or a validation split of the training photos',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', nargs='?', help='config file path')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument(
        '--routes',
        help='route_stats.json of the same checkpoint (training paths)')
    parser.add_argument(
        '--split', choices=['test', 'val'], default='test',
        help='the config\'s test sets, or the validation sets made from '
        'the training photos (default: test)')
    parser.add_argument(
        '--photos', nargs='+', default=list(TRAIN_PHOTOS),
        help='training photos the validation sets are made from (default: '
        'all the mini benchmark\'s)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--summarize', nargs='+', metavar='JSON',
        help='print the tables of these results files (one per seed) and '
        'exit')
    args = parser.parse_args(argv)
    if not args.summarize:
        for name, flag in (('config', 'CONFIG'), ('checkpoint',
                                                  'CHECKPOINT'),
                           ('routes', '--routes')):
            if getattr(args, name) is None:
                parser.error(f'give {flag} (or --summarize)')
    return args


def _mean_sd(values: List[float]) -> str:
    values = np.asarray(values, dtype=float)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f'{values.mean():.2f} ± {sd:.2f}'


def summarize_files(paths: Sequence[str]) -> str:
    """Markdown: per set, PSNR and harm rate of each way (mean ± sd over
    the files), and the averages over singles and mixes."""
    runs = []
    for path in paths:
        with open(path, encoding='utf-8') as f:
            runs.append(json.load(f)['sets'])
    names = list(runs[0])
    groups = [('singles', [n for n in names if '+' not in n]),
              ('mixes', [n for n in names if '+' in n])]
    ways = [w for w in WAYS if all(f'{w}_psnr' in r[names[0]] for r in runs)]
    lines = [
        f'PSNR (dB) / harm rate (%), mean ± sd over {len(runs)} run(s); '
        '"oracle": each degradation\'s training path (a mix: the best of '
        'its components\' paths per image); "-": no training path', '',
        '| set | input | ' + ' | '.join(ways) + ' | on path |',
        '|---|---|' + '---|' * len(ways) + '---|'
    ]

    def cell(name, way):
        if f'{way}_psnr' not in runs[0][name]:
            return '-'
        return (_mean_sd([r[name][f'{way}_psnr'] for r in runs]) + ' / ' +
                f'{100 * np.mean([r[name][f"{way}_harm"] for r in runs]):.0f}'
                ' %')

    for name in names:
        lines.append(f'| {name} | {runs[0][name]["input_psnr"]:.2f} | ' +
                     ' | '.join(cell(name, w) for w in ways) +
                     f' | {np.mean([r[name]["on_path_share"] for r in runs]):.2f} |')
    for label, members in groups:
        row = []
        for way in ways:
            have = [n for n in members if f'{way}_psnr' in runs[0][n]]
            if len(have) < len(members):
                row.append('-')
                continue
            per_run = [np.mean([r[n][f'{way}_psnr'] for n in have])
                       for r in runs]
            harm = np.mean([[r[n][f'{way}_harm'] for n in have]
                            for r in runs])
            row.append(f'{_mean_sd(per_run)} / {100 * harm:.0f} %')
        lines.append(f'| **average, {label}** | | ' + ' | '.join(row) +
                     ' | |')
    thresholds = list(runs[0][names[0]]['soft_when_unsure'])
    lines += ['', 'Soft routing for the images whose lowest top-expert '
              'probability is below t (t = 0: never, own routes; t > 1: '
              'always): PSNR / harm rate, averaged over the sets and runs',
              '', '| group | ' + ' | '.join(f't = {t}' for t in thresholds)
              + ' |', '|---|' + '---|' * len(thresholds)]
    for label, members in groups:
        cells = []
        for t in thresholds:
            psnr_ = np.mean([[r[n]['soft_when_unsure'][t]['psnr']
                              for n in members] for r in runs])
            harm = np.mean([[r[n]['soft_when_unsure'][t]['harm']
                             for n in members] for r in runs])
            cells.append(f'{psnr_:.2f} / {100 * harm:.0f} %')
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def psnr(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """PSNR (dB) of (3, H, W) images in [0, 1], on the 0-255 scale."""
    mse = float(((pred.clamp(0, 1) - gt)**2).mean()) * 255.**2
    return float('inf') if mse == 0 else 10 * np.log10(255.**2 / mse)


@torch.no_grad()
def diagnose_image(model, img: torch.Tensor, gt: torch.Tensor,
                   oracle_paths: List[List[int]],
                   paths_by_task: Dict[str, List[int]]) -> dict:
    """PSNR of the input and of each way of routing one image."""
    inputs = img[None]
    encoded = model.encode(inputs)
    routed = model.route_encoded(encoded)

    def run(routing):
        return model.restore_with_route(inputs, routing, encoded.prior,
                                        encoded.grid_hw)[0]

    own_route = routed.indices[0].tolist()
    row = dict(input=psnr(img, gt), own=psnr(run(routed.indices), gt),
               soft=psnr(run(routed.probs), gt), route=own_route,
               confidence=float(routed.probs[0].max(-1).values.min()))
    done = {tuple(own_route): row['own']}

    def along(path: List[int]) -> float:
        if tuple(path) not in done:
            done[tuple(path)] = psnr(run(torch.tensor([path])), gt)
        return done[tuple(path)]

    oracle = [along(path) for path in oracle_paths]
    protos = model.degradation_encoder.degradation_prototypes
    row['snap'] = None
    if protos is not None:
        views = encoded.router_input[:encoded.num_tiles]
        label = protos.classes[int(protos.probabilities(views).mean(0)
                                   .argmax())]
        row['recognised'] = label
        if label in paths_by_task:
            row['snap'] = along(paths_by_task[label])
    row['oracle'] = max(oracle) if oracle else None
    row['on_path'] = own_route in oracle_paths
    return row


def summarize(rows: List[dict]) -> dict:
    """Per set: mean PSNR and harm rate of each way, on-path share, harm
    on and off the path, and the soft-when-unsure policy."""
    inp = np.array([r['input'] for r in rows])
    out = OrderedDict(images=len(rows), input_psnr=float(inp.mean()))
    for way in WAYS:
        if any(r[way] is None for r in rows):
            continue
        vals = np.array([r[way] for r in rows])
        out[f'{way}_psnr'] = float(vals.mean())
        out[f'{way}_harm'] = float((vals < inp).mean())
    on = np.array([r['on_path'] for r in rows])
    own = np.array([r['own'] for r in rows])
    out['on_path_share'] = float(on.mean())
    out['harm_on_path'] = None if not on.any() else float(
        (own[on] < inp[on]).mean())
    out['harm_off_path'] = None if on.all() else float(
        (own[~on] < inp[~on]).mean())
    conf = np.array([r['confidence'] for r in rows])
    soft = np.array([r['soft'] for r in rows])
    out['mean_confidence'] = float(conf.mean())
    policy = OrderedDict()
    for t in THRESHOLDS:
        mixed = np.where(conf < t, soft, own)
        policy[f'{t:g}'] = dict(psnr=float(mixed.mean()),
                                harm=float((mixed < inp).mean()),
                                soft_share=float((conf < t).mean()))
    out['soft_when_unsure'] = policy
    return out


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    if args.summarize:
        text = summarize_files(args.summarize)
        print(text)
        return dict(text=text)
    for what, path in (('config file', args.config),
                       ('checkpoint', args.checkpoint),
                       ('--routes', args.routes)):
        if not osp.isfile(path):
            raise SystemExit(f'{what} not found: {path}')
    with open(args.routes, encoding='utf-8') as f:
        try:
            paths = training_paths(json.load(f))
        except ValueError as err:
            raise SystemExit(f'--routes: {err}') from None
    model = init_restorer(args.config, args.checkpoint, args.device)
    if not hasattr(model, 'route_encoded'):
        raise SystemExit(f'{args.config}: not a routed (SLER-IR) model')
    quiet_metainfo_notices()
    sets = config_test_sets(model.cfg) if args.split == 'test' else \
        mini_validation_sets(args.photos)
    result = OrderedDict(config=args.config, checkpoint=args.checkpoint,
                         split=args.split, training_paths=paths,
                         sets=OrderedDict())
    device = torch.device(args.device)
    for name, data in sets.items():
        oracle = [paths[t] for t in data['task'].split('+') if t in paths]
        rows = [
            diagnose_image(model, x.to(device), y.to(device), oracle, paths)
            for x, y in zip(data['inputs'], data['targets'])
        ]
        result['sets'][name] = dict(summarize(rows), task=data['task'])
        s = result['sets'][name]
        print(f'{name}: input {s["input_psnr"]:.2f} | own '
              f'{s["own_psnr"]:.2f} (harm {s["own_harm"]:.2f}) | oracle '
              f'{s.get("oracle_psnr", float("nan")):.2f} (harm '
              f'{s.get("oracle_harm", float("nan")):.2f}) | soft '
              f'{s["soft_psnr"]:.2f} (harm {s["soft_harm"]:.2f}) | snap '
              f'{s.get("snap_psnr", float("nan")):.2f} (harm '
              f'{s.get("snap_harm", float("nan")):.2f}) | on path '
              f'{s["on_path_share"]:.2f}', flush=True)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    run_main(main)
