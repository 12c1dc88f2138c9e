"""Choose a degradation-encoder recipe by how it names degradations on
photos it never saw, without looking at any test photo.

The mini tower recognises haze and blur well on its training photos and
poorly on new ones (issue 22). This tool measures that gap on the training
photos alone: for each fold of held-out training photos, each recipe
variant is pretrained on the other training photos and scored on the
held-out ones, cut into the test grid and degraded by the benchmark's
generators (``mini_validation_sets``: the ten sets, draws of their own).
A mix counts as named when the top class is one of its components. Images
are classified on routing tiles of the config's ``route_tile_size``, as a
model routes them.

Each tower is cached under ``--work-dir/<variant>/`` by its recipe key, as
a config's tower is (``ensure_pretrained_encoder``; a stopped pretraining
resumes), so a rerun only scores. Example (the study of issue 22)::

    python tools/analysis_tools/encoder_photo_holdout.py \\
        configs/sler_ir_mini_5task.py --work-dir work_dirs/encoder_holdout \\
        --variant base --variant iters3000 iters=3000 \\
        --variant dead_leaves data.dead_leaves=11 \\
        --out results/encoder_holdout/summary.json
"""
import argparse
import ast
import copy
import json
import os
import os.path as osp
import shlex
import sys
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from sler_ir_mm.datasets.evaluation_images import \
    mini_validation_sets  # noqa: E402
from sler_ir_mm.datasets.mini_benchmark import TRAIN_PHOTOS  # noqa: E402
from sler_ir_mm.engine.degradation_pretraining import (  # noqa: E402
    classify_tiles, ensure_pretrained_encoder)
from sler_ir_mm.models.encoders.encoder_recipe import (  # noqa: E402
    ENCODER_TYPE, check_recipe)
from sler_ir_mm.models.encoders.pretrained_degradation_encoder import \
    pretrained_degradation_encoder  # noqa: E402
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

# Two folds of four held-out photos (the test sets have four), each
# mixing everyday scenes with textures and scientific images.
DEFAULT_FOLDS = (('astronaut', 'coins', 'brick', 'moon'),
                 ('stereo_motorcycle', 'retina', 'grass', 'page'))
SINGLES = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pretrain recipe variants of a config\'s degradation '
        'encoder with training photos held out and score recognition on '
        'the held-out photos',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='SLER-IR config whose '
                        'degradation_encoder is a PretrainedDegradationEncoder')
    parser.add_argument(
        '--variant', nargs='+', action='append', metavar='NAME [KEY=VALUE]',
        help='a recipe variant: a name, then recipe overrides as dotted '
        'keys (Python literals), e.g. "smooth data.photo_scale=(0.6,3.0)"; '
        'repeat for more (default: the config\'s recipe as "base")')
    parser.add_argument(
        '--folds', nargs='+', metavar='PHOTO,PHOTO,...',
        help='held-out training photos per fold, comma-separated '
        f'(default: {" ".join(",".join(f) for f in DEFAULT_FOLDS)})')
    parser.add_argument('--work-dir', default='work_dirs/encoder_holdout',
                        help='where the pretrained towers go (default: '
                        '%(default)s)')
    parser.add_argument('--out', help='write the results to this JSON file '
                        '(and a .md table beside it)')
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.variants = [parse_variant(v, parser) for v in args.variant or
                     [['base']]]
    names = [name for name, _ in args.variants]
    if len(set(names)) != len(names):
        parser.error(f'--variant names must differ, got {names}')
    folds = [tuple(f.split(',')) for f in args.folds] if args.folds else \
        list(DEFAULT_FOLDS)
    for fold in folds:
        unknown = [p for p in fold if p not in TRAIN_PHOTOS]
        if unknown:
            parser.error(f'--folds: {unknown} are not training photos of '
                         f'the mini benchmark ({", ".join(TRAIN_PHOTOS)})')
        if len(set(fold)) == len(TRAIN_PHOTOS):
            parser.error(f'--folds: fold {fold} holds out every photo')
    args.folds = folds
    return args


def parse_variant(words: List[str],
                  parser: argparse.ArgumentParser) -> Tuple[str, dict]:
    """``['name', 'a.b=1', ...]`` -> ``('name', {'a.b': 1, ...})``."""
    name, overrides = words[0], OrderedDict()
    if '=' in name:
        parser.error(f'--variant: the first word is its name, got {name!r}')
    for word in words[1:]:
        key, sep, text = word.partition('=')
        if not sep or not key:
            parser.error(f'--variant {name}: expected KEY=VALUE, got '
                         f'{word!r}')
        try:
            overrides[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            overrides[key] = text
    return name, overrides


def variant_recipe(base: dict, overrides: Dict[str, object],
                   photos: Sequence[str], name: str) -> dict:
    """The base recipe with dotted overrides, training on ``photos``."""
    recipe = copy.deepcopy(base)
    for key, value in overrides.items():
        node = recipe
        *path, leaf = key.split('.')
        for part in path:
            if not isinstance(node.get(part), dict):
                raise ValueError(f'--variant: recipe has no dict at {key!r}')
            node = node[part]
        node[leaf] = value
    recipe['data']['photos'] = list(photos)
    recipe['name'] = name
    return check_recipe(recipe)


def recognition_scores(recipe: dict, cache_dir: str, sets: Dict[str, dict],
                       tile: Optional[int]) -> Dict[str, float]:
    """Share of each set's images whose top class is (one component of)
    its degradation, by the recipe's tower (pretrained into ``cache_dir``
    first when missing)."""
    ensure_pretrained_encoder(recipe, cache_dir)
    tower = pretrained_degradation_encoder(recipe, cache_dir).eval()
    prototypes = tower.degradation_prototypes

    def logits(images):
        return prototypes.logits(tower(images).cls)

    scores = OrderedDict()
    with torch.no_grad():
        for name, data in sets.items():
            truth = data['task'].split('+')
            pred = classify_tiles(logits, data['inputs'], tile)['pred']
            scores[name] = float(
                np.mean([prototypes.classes[p] in truth for p in pred]))
    return scores


def _row(cells_of: Dict[str, float], set_names: Sequence[str]) -> List[str]:
    singles = [s for s in set_names if '+' not in s]
    mixes = [s for s in set_names if '+' in s]
    cells = [f'{cells_of[s]:.2f}' for s in set_names]
    cells.append(f'**{np.mean([cells_of[s] for s in singles]):.3f}**')
    cells.append(f'{np.mean([cells_of[s] for s in mixes]):.3f}')
    return cells


def table(results: dict, set_names: Sequence[str]) -> str:
    """Markdown: variants x sets, the mean over folds and then each fold."""
    head = ' | '.join(set_names) + ' | mean singles | mean mixes |'
    rule = '|---' * (len(set_names) + 3) + '|'
    lines = ['| variant | ' + head, rule]
    for name, row in results.items():
        lines.append(f'| {name} | ' +
                     ' | '.join(_row(row['mean'], set_names)) + ' |')
    lines += ['', 'Per fold (held-out photos):', '',
              '| variant | held out | ' + head, '|---' + rule]
    for name, row in results.items():
        for fold in row['folds']:
            lines.append(f'| {name} | {", ".join(fold["held_out"])} | ' +
                         ' | '.join(_row(fold['scores'], set_names)) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    enc = cfg.model.get('degradation_encoder') or {}
    if enc.get('type') != ENCODER_TYPE:
        raise SystemExit(f'{args.config}: model.degradation_encoder is not a '
                         f'{ENCODER_TYPE} with a recipe')
    base = enc['recipe'].to_dict() if hasattr(enc['recipe'], 'to_dict') \
        else dict(enc['recipe'])
    tile = cfg.model.get('route_tile_size')
    results: Dict[str, dict] = OrderedDict()
    set_names: List[str] = []
    images = 0
    for name, overrides in args.variants:
        per_fold = []
        for k, fold in enumerate(args.folds):
            photos = [p for p in TRAIN_PHOTOS if p not in fold]
            recipe = variant_recipe(base, overrides, photos,
                                    f'{base["name"]}_{name}_fold{k}')
            sets = mini_validation_sets(fold)
            scores = recognition_scores(recipe, osp.join(args.work_dir, name),
                                        sets, tile)
            set_names = list(scores)
            images = len(next(iter(sets.values()))['inputs'])
            per_fold.append(dict(held_out=list(fold), scores=scores))
            print(f'{name} fold {k} (held out {", ".join(fold)}): ' +
                  ', '.join(f'{s} {v:.2f}' for s, v in scores.items()),
                  flush=True)
        results[name] = dict(
            overrides=dict(overrides), folds=per_fold,
            mean={s: float(np.mean([f['scores'][s] for f in per_fold]))
                  for s in set_names})
    text = table(results, set_names)
    print('\nrecognition on held-out training photos (mean over folds)\n' +
          text)
    command = ' '.join(['python', 'tools/analysis_tools/'
                        'encoder_photo_holdout.py'] +
                       [shlex.quote(a) for a in args.argv])
    report = dict(config=args.config, route_tile_size=tile, command=command,
                  folds=[list(f) for f in args.folds], variants=results)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
        with open(osp.splitext(args.out)[0] + '.md', 'w',
                  encoding='utf-8') as f:
            f.write(
                '# Degradation encoder: recognition on held-out training '
                'photos\n\nShare of the images of each set whose top class '
                'names its degradation (a mix: one of its components), '
                'classified on routing tiles of '
                f'{tile} pixels; {images} images per set and fold (the '
                'held-out photos cut into the test grid). Written by:\n\n'
                f'```bash\n{command}\n```\n\n{text}\n')
        print(f'wrote {args.out}')
    return report


if __name__ == '__main__':
    run_main(main)
