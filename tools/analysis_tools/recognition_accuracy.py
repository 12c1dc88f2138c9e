"""How often a SLER-IR model names the degradation of an image correctly,
and how often it warns that an image looks unlike every trained one.

What the model recognises is what ``restore_image`` returns (and the demo
and ``restore_images.py`` show): the pretrained tower's per-degradation
scores over the routing tiles, and the "unlike" warning
(``sler_ir_mm.apis.recognition``). Measured on

- the config's test sets (as ``tools/test.py`` loads them; a mix counts as
  recognised when the top score names one of its components), and their
  clean targets (where no degradation should be named: the warning rate
  is what matters there);
- crops of photos outside the mini benchmark
  (``sler_ir_mm.datasets.generalization_photos``) with each single
  degradation and each mix, and clean.

Only the encoders and the router run (no restoration), so it takes
seconds.

Example::

    python tools/analysis_tools/recognition_accuracy.py \\
        configs/sler_ir_mini_5task.py work_dirs/sler_ir_mini_5task/epoch_22.pth \\
        --out work_dirs/recognition.json
"""
import argparse
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sler_ir_mm.apis import init_restorer, recognize  # noqa: E402
from sler_ir_mm.datasets.evaluation_images import \
    config_test_sets  # noqa: E402
from sler_ir_mm.datasets.dataset_cfgs import \
    quiet_metainfo_notices  # noqa: E402
from sler_ir_mm.datasets.generalization_photos import (  # noqa: E402
    MIXES, PHOTOS, TASKS, degrade, photo_crops)
from sler_ir_mm.evaluation.route_stats import \
    training_paths  # noqa: E402
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

CLEAN = 'clean'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Recognition accuracy and unlike-warning rate of a '
        'SLER-IR model on its test sets and on photos outside them',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument(
        '--per-photo',
        type=int,
        default=3,
        help='random crops per photo outside the benchmark (default: 3)')
    parser.add_argument(
        '--routes',
        help='route_stats.json of the same checkpoint: then, per single '
        'test set, how often an image is on its task\'s training path '
        'when its degradation is recognised and when it is not (does the '
        'route go wrong where the recognition is right?)')
    parser.add_argument(
        '--device', default='cpu', help='cpu, cuda or cuda:N (default: cpu)')
    args = parser.parse_args(argv)
    if args.per_photo < 1:
        parser.error(f'--per-photo must be >= 1, got {args.per_photo}')
    return args


@torch.no_grad()
def recognise(model, images: List[torch.Tensor]) -> List:
    """Recognition of each (3, H, W) image in [0, 1], one at a time (as
    ``restore_image`` sees them)."""
    device = next(model.parameters()).device
    return [
        recognize(model, model.plan_restore(img[None].to(device)))
        for img in images
    ]


def score(recognitions: Sequence, truth: Sequence[str]) -> dict:
    """Accuracy (the top score names one of ``truth``; None for clean
    images) and warning rate of a group of recognitions."""
    labels = [r.label for r in recognitions]
    unlike = [bool(r.unlike) for r in recognitions]
    counts: Dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    row = OrderedDict(images=len(recognitions))
    row['accuracy'] = None if not truth else float(
        np.mean([label in truth for label in labels]))
    row['unlike_rate'] = float(np.mean(unlike))
    row['mean_similarity'] = float(
        np.mean([r.similarity for r in recognitions]))
    row['recognised_as'] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    return row


def route_given_recognition(recognitions: Sequence, truth: Sequence[str],
                            path: Sequence[int]) -> dict:
    """Images of a set by (recognised right?, on the training path?), and
    the share on the path among the recognised and the unrecognised."""
    right = [r.label in truth for r in recognitions]
    on = [list(r.route) == list(path) for r in recognitions]
    count = dict(right_on=0, right_off=0, wrong_on=0, wrong_off=0)
    for is_right, is_on in zip(right, on):
        count[f'{"right" if is_right else "wrong"}_'
              f'{"on" if is_on else "off"}'] += 1

    def share(on_, off_):
        total = count[on_] + count[off_]
        return None if total == 0 else count[on_] / total

    return dict(
        count,
        images=len(recognitions),
        path='-'.join(map(str, path)),
        on_path=float(np.mean(on)),
        on_path_if_recognised=share('right_on', 'right_off'),
        on_path_if_not=share('wrong_on', 'wrong_off'))


def outside_images(per_photo: int) -> Dict[str, List[torch.Tensor]]:
    """Clean, single-degradation and mixed crops of the photos outside the
    benchmark, by degradation name ('a+b' for a mix)."""
    clean = photo_crops(PHOTOS, per_photo)
    out = OrderedDict()
    out[CLEAN] = clean
    combos = [(t, ) for t in TASKS] + [tuple(m.split('+')) for m in MIXES]
    for index, combo in enumerate(combos):
        rng = np.random.default_rng([7, index])
        out['+'.join(combo)] = [degrade(c, combo, rng) for c in clean]
    return OrderedDict(
        (name, [torch.from_numpy(np.ascontiguousarray(i)).permute(2, 0, 1)
                for i in images]) for name, images in out.items())


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    for what, path in (('config file', args.config),
                       ('checkpoint', args.checkpoint),
                       ('--routes', args.routes)):
        if path is not None and not osp.isfile(path):
            raise SystemExit(f'{what} not found: {path}')
    paths = {}
    if args.routes:
        with open(args.routes, encoding='utf-8') as f:
            try:
                paths = training_paths(json.load(f))
            except ValueError as err:
                raise SystemExit(f'--routes: {err}') from None
    model = init_restorer(args.config, args.checkpoint, args.device)
    if not hasattr(model, 'plan_restore'):
        raise SystemExit(f'{args.config}: {type(model).__name__} does not '
                         'route; recognition needs a SLER-IR model')
    quiet_metainfo_notices()
    prototypes = model.degradation_encoder.degradation_prototypes
    if prototypes is None:
        raise SystemExit(f'{args.config}: the degradation encoder has no '
                         'named prototypes (only a tower the project '
                         'pretrained has them); nothing to score')
    known = set(prototypes.classes)

    def truth_of(task: str) -> List[str]:
        parts = [p for p in task.split('+') if p in known]
        return [task] if task in known else parts

    test_sets = OrderedDict()
    clean: List = []
    for name, data in config_test_sets(model.cfg).items():
        recs = recognise(model, data['inputs'])
        test_sets[name] = dict(score(recs, truth_of(data['task'])),
                               task=data['task'])
        if data['task'] in paths:
            test_sets[name]['route'] = route_given_recognition(
                recs, truth_of(data['task']), paths[data['task']])
        if not clean:
            # Every set holds the same clean cells: score them once.
            clean = recognise(model, data['targets'])
    if clean:
        test_sets[CLEAN] = score(clean, [])
    outside = OrderedDict()
    for name, images in outside_images(args.per_photo).items():
        truth = [] if name == CLEAN else truth_of(name)
        outside[name] = score(recognise(model, images), truth)
    result = dict(
        config=args.config, checkpoint=args.checkpoint,
        classes=list(prototypes.classes), threshold=prototypes.threshold,
        threshold_quantile=prototypes.quantile, photos=list(PHOTOS),
        test_sets=test_sets, outside=outside)
    for title, rows in (('test sets', test_sets), ('outside photos',
                                                   outside)):
        print(f'\n{title}: | set | images | top score right | unlike '
              'warning | mean similarity |')
        for name, row in rows.items():
            acc = '-' if row['accuracy'] is None else \
                f'{row["accuracy"]:.2f}'
            print(f'| {name} | {row["images"]} | {acc} | '
                  f'{row["unlike_rate"]:.2f} | '
                  f'{row["mean_similarity"]:.2f} |')
    routed = [(n, r['route']) for n, r in test_sets.items() if 'route' in r]
    if routed:
        print('\nroutes and recognition: | set | on the training path | on it '
              'when recognised | on it when not | recognised, off the path |')

        def pct(value):
            return '-' if value is None else f'{value:.2f}'

        for name, row in routed:
            print(f'| {name} | {row["on_path"]:.2f} | '
                  f'{pct(row["on_path_if_recognised"])} | '
                  f'{pct(row["on_path_if_not"])} | '
                  f'{row["right_off"]} of {row["images"]} |')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    run_main(main)
