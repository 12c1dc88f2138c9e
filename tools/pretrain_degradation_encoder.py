"""Pretrain the degradation encoder SLER-IR routes on, DA-CLIP-style.

An open_clip image tower learns to embed the degradation type of an image:
its embedding is matched against one learnable prototype per degradation
(DA-CLIP matches it against text embeddings of degradation names). The
output is a checkpoint that ``CLIPImageEncoder`` loads, frozen.

Two sources of data:

- the recipe of a config whose ``model.degradation_encoder`` is a
  ``PretrainedDegradationEncoder`` (the mini configs: synthetic
  degradations of the mini benchmark's training photos, never its test
  photos). Without ``--out`` the result goes where the config looks for it
  (its cache): building the model only reads it, and ``tools/train.py``
  runs this step first when the file is missing;
- ``--data-root DIR``: the degraded images of the config's training set
  under DIR (your all-in-one tree), labelled by task, starting from local
  open_clip weights (``--init-checkpoint``) or random ones.

Deterministic; resumable (run the same command again after a stop); shows
a progress bar. The file also gets the similarity threshold below which an
image looks unlike every trained degradation (chosen on held-out training
views; added to a file built before it existed when this runs again). Ends with the degradation-classification accuracy on the
config's test sets, per set, routed on tiles of the training scale (the
config's ``route_tile_size``) and on the whole image resized, written to
``<out>.eval.json``.

Examples::

    python tools/pretrain_degradation_encoder.py configs/sler_ir_mini_5task.py
    python tools/pretrain_degradation_encoder.py configs/sler_ir_5task.py \\
        --data-root /data/allinone --init-checkpoint open_clip_vit_b32.pt \\
        --model-name ViT-B-32 --out checkpoints/my_degradation_encoder.pth
"""
import argparse
import copy
import json
import os.path as osp
import warnings
from collections import OrderedDict

warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmagic.registry import MODELS  # noqa: E402

from sler_ir_mm.engine.degradation_pretraining import (  # noqa: E402
    calibrate_pretrained_encoder, classify_tiles,
    pretrain_degradation_encoder)
from sler_ir_mm.models.encoders import \
    load_degradation_prototypes  # noqa: E402
from sler_ir_mm.models.encoders.encoder_recipe import (  # noqa: E402
    DEFAULT_CACHE_DIR, ENCODER_TYPE, cached_encoder_path, check_recipe,
    read_encoder_meta, recipe_key)
from sler_ir_mm.datasets import task_subsets  # noqa: E402
from sler_ir_mm.datasets import set_data_root  # noqa: E402
from sler_ir_mm.datasets.dataset_cfgs import quiet_metainfo_notices  # noqa
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402
from sler_ir_mm.utils.file_lock import file_lock  # noqa: E402

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pretrain a degradation encoder (open_clip tower + '
        'learnable per-degradation prototypes)',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='SLER-IR config')
    parser.add_argument(
        '--out', help='output checkpoint (default: the config\'s cache '
        'path of the recipe)')
    parser.add_argument(
        '--data-root', help='pretrain on the degraded images of the '
        'config\'s training set under this folder instead of the recipe\'s '
        'data')
    parser.add_argument(
        '--init-checkpoint', help='local open_clip / CLIP weights to start '
        'from (full CLIP state dict with visual.* keys); default: the '
        'recipe\'s (random weights for the mini recipe)')
    parser.add_argument(
        '--model-name', help='open_clip tower to train with --data-root '
        'when the config has no recipe (e.g. ViT-B-32)')
    parser.add_argument('--iters', type=int, help='override recipe iters')
    parser.add_argument(
        '--no-eval', action='store_true',
        help='skip the accuracy on the config\'s test sets')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries')
    args = parser.parse_args(argv)
    if args.iters is not None and args.iters < 1:
        parser.error(f'--iters must be >= 1, got {args.iters}')
    return args


def recipe_from(cfg: Config, args: argparse.Namespace) -> tuple:
    """(recipe, cache_dir) for the command line."""
    enc = cfg.model.get('degradation_encoder', {}) or {}
    has_recipe = enc.get('type') == ENCODER_TYPE
    cache_dir = enc.get('cache_dir', DEFAULT_CACHE_DIR) if has_recipe else \
        DEFAULT_CACHE_DIR
    if has_recipe:
        recipe = copy.deepcopy(enc['recipe'].to_dict() if hasattr(
            enc['recipe'], 'to_dict') else enc['recipe'])
    elif args.data_root is None:
        raise SystemExit(
            f'{args.config}: model.degradation_encoder is '
            f'{enc.get("type")!r}, not a PretrainedDegradationEncoder with '
            'a recipe: give --data-root (and --model-name, '
            '--init-checkpoint) to pretrain on your data')
    else:
        if not args.model_name:
            raise SystemExit('--model-name is needed with --data-root when '
                             'the config has no recipe (e.g. ViT-B-32)')
        recipe = dict(
            name=f'degradation_encoder_{args.model_name}',
            encoder=dict(type='CLIPImageEncoder', model_name=args.model_name,
                         random_init=True),
            data=dict(), iters=4000, batch_size=64, lr=1e-4,
            weight_decay=0.05, warmup_iters=200, seed=0, val_samples=1000,
            save_interval=200)
    if args.data_root is not None:
        from sler_ir_mm.models.encoders.clip_image_encoder import \
            _resolve_tower_cfg
        tower, _, _ = _resolve_tower_cfg(
            recipe['encoder'].get('model_name', 'ViT-B-32'),
            recipe['encoder'].get('vision_cfg'),
            recipe['encoder'].get('embed_dim'),
            recipe['encoder'].get('quick_gelu'))
        size = tower['image_size']
        size = size if isinstance(size, int) else size[0]
        recipe['data'] = dict(
            type='DatasetDegradationViews',
            dataset=copy.deepcopy(cfg.train_dataloader.dataset).to_dict(),
            view_size=int(size), seed=recipe['seed'])
        recipe['name'] += '_data'
    if args.init_checkpoint is not None:
        if not osp.isfile(args.init_checkpoint):
            raise SystemExit(f'--init-checkpoint: {args.init_checkpoint} '
                             'not found')
        recipe['encoder'].update(checkpoint=osp.abspath(args.init_checkpoint),
                                 random_init=False)
    if args.iters is not None:
        recipe['iters'] = args.iters
    try:
        return check_recipe(recipe), cache_dir
    except ValueError as err:
        raise SystemExit(f'recipe: {err}')


def load_classifier(path: str, recipe: dict):
    """The pretrained tower and its prototypes, as a classifier:
    images in [0, 1] -> class logits (as the pretraining computed them)."""
    encoder = dict(recipe['encoder'], checkpoint=path, random_init=False,
                   frozen=True)
    tower = MODELS.build(encoder).eval()
    prototypes = load_degradation_prototypes(path)

    def logits(images):
        return prototypes.logits(tower(images).cls)

    return logits


def evaluate(cfg: Config, path: str, recipe: dict, classes: list) -> dict:
    """Accuracy per test set of the config, on tiles and on whole images."""
    logits = load_classifier(path, recipe)
    tile = cfg.model.get('route_tile_size')
    loaders = cfg.get('test_dataloader') or []
    loaders = [loaders] if isinstance(loaders, dict) else list(loaders)
    evaluators = cfg.get('test_evaluator') or [None] * len(loaders)
    results = OrderedDict()
    for loader_cfg, evaluator in zip(loaders, evaluators):
        loader = Runner.build_dataloader(
            dict(copy.deepcopy(loader_cfg), batch_size=1, num_workers=0,
                 persistent_workers=False))
        task = next(iter(task_subsets(loader.dataset)))
        images = [batch['inputs'][0].float() / 255.0 for batch in loader]
        tasks = [task] * len(images)
        name = task
        if isinstance(evaluator, (list, tuple)) and evaluator and \
                evaluator[0].get('prefix'):
            name = evaluator[0]['prefix']
        if tasks[0] not in classes:
            continue
        truth = [classes.index(t) for t in tasks]
        row = dict(task=tasks[0], images=len(images))
        for how, size in (('tiles', tile), ('whole_image', None)):
            pred = classify_tiles(logits, images, size)['pred']
            row[f'accuracy_{how}'] = sum(
                p == t for p, t in zip(pred, truth)) / len(truth)
            row[f'predicted_{how}'] = [classes[p] for p in pred]
        results[name] = row
    return results


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root is not None:
        try:
            set_data_root(cfg, args.data_root)
        except ValueError as err:
            raise SystemExit(f'--data-root: {err}')
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    quiet_metainfo_notices()
    recipe, cache_dir = recipe_from(cfg, args)
    out = args.out or cached_encoder_path(recipe, cache_dir)
    print(f'recipe {recipe["name"]!r} (key {recipe_key(recipe)}): '
          f'{recipe["iters"]} iterations at batch {recipe["batch_size"]} '
          f'-> {out}')
    # A training run of the same config may be building it right now.
    with file_lock(out):
        meta = read_encoder_meta(out) if osp.exists(out) else None
        if osp.exists(out) and (meta is None or
                                meta.get('recipe_key') != recipe_key(recipe)):
            raise SystemExit(f'{out} exists and was not written by this '
                             'recipe; it is left alone: give another --out')
        if meta is None:
            meta = pretrain_degradation_encoder(recipe, out)
        else:
            print(f'{out} is already built from this recipe '
                  f'({meta["train_seconds"]} s of training)')
    if 'similarity_calibration' not in meta:
        # A file from before the calibration: same tower, add it.
        print(f'{out}: adding the similarity calibration (the "unlike '
              'every trained degradation" threshold)')
        meta['similarity_calibration'] = calibrate_pretrained_encoder(
            recipe, out)
    calibration = meta['similarity_calibration']
    print(f'unlike-every-degradation threshold: similarity '
          f'{calibration["threshold"]:.3f} (the {calibration["quantile"]:g} '
          f'quantile of {calibration["samples"]} held-out training views)')
    report = dict(checkpoint=out, recipe_key=meta['recipe_key'],
                  classes=meta['classes'], train_seconds=meta['train_seconds'],
                  heldout_accuracy=meta['heldout_accuracy'],
                  similarity_calibration=calibration)
    print(f'held-out accuracy (new draws of the training data): '
          f'{meta["heldout_accuracy"]:.3f}')
    if not args.no_eval:
        report['test_sets'] = evaluate(cfg, out, recipe, meta['classes'])
        print('\n| test set | images | accuracy, training-scale tiles | '
              'accuracy, whole image resized |\n|---|---|---|---|')
        for name, row in report['test_sets'].items():
            print(f'| {name} | {row["images"]} | '
                  f'{row["accuracy_tiles"]:.3f} | '
                  f'{row["accuracy_whole_image"]:.3f} |')
        with open(osp.splitext(out)[0] + '.eval.json', 'w',
                  encoding='utf-8') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    run_main(main)
