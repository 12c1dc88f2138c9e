"""Pretrain a degradation encoder, and build it on first use.

SLER-IR routes on a pretrained, frozen degradation encoder (DA-CLIP in the
paper). Where no such weights exist, or for degradations DA-CLIP does not
cover, :func:`pretrain_degradation_encoder` trains an open_clip image tower
to embed the degradation type of an image
(:class:`~sler_ir_mm.models.encoders.DegradationPrototypeClassifier`) and
writes a checkpoint that ``CLIPImageEncoder`` loads. A *recipe* (a plain
dict, see :func:`check_recipe`) says everything the result depends on, so
the output can be cached under a key of the recipe: the registered
``PretrainedDegradationEncoder`` builds the tower from a recipe, training it
the first time (:func:`ensure_pretrained_encoder`).

Training is deterministic (sample ``i`` of the data depends on ``i`` only,
the model on the recipe's seed), resumable (a state file beside the output
every ``save_interval`` iterations; a rerun goes on from it) and shows a
progress bar.
"""
import contextlib
import copy
import hashlib
import json
import logging
import math
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmagic.registry import DATASETS, MODELS
from tqdm import tqdm

from sler_ir_mm.utils.checkpoint_io import (CheckpointReadError,
                                          load_checkpoint_file)

__all__ = [
    'RECIPE_VERSION', 'check_recipe', 'recipe_key', 'cached_encoder_path',
    'pretrain_degradation_encoder', 'ensure_pretrained_encoder',
    'classify_tiles', 'read_encoder_meta'
]

# Bump when the training code changes what a recipe produces.
RECIPE_VERSION = 1
PRODUCER = 'sler_ir_mm.pretrain_degradation_encoder'
_RECIPE_KEYS = {
    'name': str, 'encoder': dict, 'data': dict, 'iters': int,
    'batch_size': int, 'lr': float, 'weight_decay': float,
    'warmup_iters': int, 'seed': int, 'val_samples': int,
    'save_interval': int
}


def check_recipe(recipe: dict) -> dict:
    """Check a pretraining recipe; return a plain-dict deep copy.

    A recipe holds ``name`` (str, part of the file name), ``encoder`` (the
    tower's config, e.g. ``dict(type='CLIPImageEncoder', vision_cfg=...,
    embed_dim=32)``; ``random_init=True`` or a local ``checkpoint`` to start
    from), ``data`` (a dataset config whose items are ``(view, label)`` and
    that has ``tasks``, e.g. ``SyntheticDegradationDataset``), ``iters``,
    ``batch_size``, ``lr`` (AdamW, cosine decay after ``warmup_iters``),
    ``weight_decay``, ``seed``, ``val_samples`` (held-out draws scored at
    the end) and ``save_interval`` (iterations between resume states).
    """
    if not isinstance(recipe, dict):
        raise TypeError(f'recipe must be a dict, got {type(recipe).__name__}')
    recipe = json.loads(json.dumps(recipe))  # plain types, deep copy
    missing = sorted(set(_RECIPE_KEYS) - set(recipe))
    unknown = sorted(set(recipe) - set(_RECIPE_KEYS))
    if missing or unknown:
        raise ValueError(f'degradation encoder recipe: missing keys '
                         f'{missing}, unknown keys {unknown}')
    for key, kind in _RECIPE_KEYS.items():
        value = recipe[key]
        ok = isinstance(value, (int, float)) if kind is float else \
            isinstance(value, kind)
        if not ok or isinstance(value, bool):
            raise ValueError(f'recipe[{key!r}] must be a {kind.__name__}, '
                             f'got {value!r}')
    for key in ('iters', 'batch_size', 'save_interval'):
        if recipe[key] < 1:
            raise ValueError(f'recipe[{key!r}] must be >= 1, got '
                             f'{recipe[key]}')
    for key in ('warmup_iters', 'seed', 'val_samples'):
        if recipe[key] < 0:
            raise ValueError(f'recipe[{key!r}] must be >= 0, got '
                             f'{recipe[key]}')
    if not recipe['name'] or '/' in recipe['name']:
        raise ValueError(f'recipe["name"] must be a file-name-safe str, got '
                         f'{recipe["name"]!r}')
    enc = recipe['encoder']
    if enc.get('frozen', False):
        raise ValueError('recipe["encoder"] must not set frozen=True: the '
                         'tower is what is trained')
    return recipe


def recipe_key(recipe: dict) -> str:
    """12 hex digits of the SHA-256 of the recipe (and ``RECIPE_VERSION``)
    in canonical JSON: the cache key of its output."""
    text = json.dumps(
        dict(recipe=check_recipe(recipe), version=RECIPE_VERSION),
        sort_keys=True)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]


def cached_encoder_path(recipe: dict, cache_dir: str) -> str:
    """``<cache_dir>/<name>-<recipe key>.pth``."""
    return osp.join(cache_dir, f'{recipe["name"]}-{recipe_key(recipe)}.pth')


def _build(recipe: dict):
    """(classifier, training data, validation data) of a recipe."""
    torch.manual_seed(recipe['seed'])
    data = DATASETS.build(copy.deepcopy(recipe['data']))
    encoder = dict(recipe['encoder'], frozen=False)
    classifier = MODELS.build(
        dict(type='DegradationPrototypeClassifier', encoder=encoder,
             classes=list(data.tasks)))
    val_cfg = dict(recipe['data'], seed=recipe['data'].get('seed', 0) +
                   10007, num_samples=max(recipe['val_samples'], 1))
    return classifier, data, DATASETS.build(val_cfg)


def _batch(data, start: int, size: int):
    items = [data[i % len(data)] for i in range(start, start + size)]
    return (torch.stack([v for v, _ in items]),
            torch.tensor([label for _, label in items], dtype=torch.long))


def _learning_rate(recipe: dict, it: int) -> float:
    warmup, total = recipe['warmup_iters'], recipe['iters']
    if it < warmup:
        return recipe['lr'] * (it + 1) / warmup
    progress = (it - warmup) / max(total - warmup, 1)
    return recipe['lr'] * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def _accuracy(classifier, data, count: int, batch_size: int) -> float:
    classifier.eval()
    correct = 0
    for start in range(0, count, batch_size):
        views, labels = _batch(data, start, min(batch_size, count - start))
        correct += int((classifier(views).argmax(-1) == labels).sum())
    classifier.train()
    return correct / max(count, 1)


def _save(obj: dict, path: str) -> None:
    from mmengine.runner import checkpoint  # atomic after sler_ir_mm.compat
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    checkpoint.save_checkpoint(obj, path)


def pretrain_degradation_encoder(recipe: dict,
                                 out_file: str,
                                 progress: bool = True,
                                 stop_after: Optional[int] = None) -> dict:
    """Train the recipe's tower and write ``out_file``.

    ``out_file`` holds ``state_dict`` (the tower under ``visual.*``, what
    ``CLIPImageEncoder`` reads), ``prototypes`` and ``logit_scale``, and
    ``meta``: the recipe, its key, the classes, the held-out accuracy and
    the wall time. A state file ``<out_file>.resume.pth`` is written every
    ``save_interval`` iterations and removed at the end; a call that finds
    one of the same recipe resumes from it, with the same result as an
    uninterrupted run.

    Args:
        recipe (dict): See :func:`check_recipe`.
        out_file (str): Output checkpoint.
        progress (bool): Show a progress bar. Default: True.
        stop_after (int, optional): Stop (leaving the resume state) once
            this many iterations are done; for tests of the resume.

    Returns:
        dict: The ``meta`` written (None with ``stop_after``).
    """
    recipe = check_recipe(recipe)
    key = recipe_key(recipe)
    resume_file = out_file + '.resume.pth'
    classifier, data, val_data = _build(recipe)
    classifier.train()
    optimizer = torch.optim.AdamW(
        classifier.parameters(), lr=recipe['lr'],
        weight_decay=recipe['weight_decay'])
    start, elapsed = 0, 0.0
    state = None
    if osp.isfile(resume_file):
        try:
            state = load_checkpoint_file(resume_file, 'resume state')
        except CheckpointReadError as err:
            # Written atomically, so this is damage from outside: the run
            # can only start over, and says so.
            print_log(f'degradation encoder: {err}; starting over',
                      'current', level=logging.WARNING)
    if state is not None:
        if isinstance(state, dict) and state.get('recipe_key') == key:
            classifier.load_state_dict(state['model'])
            optimizer.load_state_dict(state['optimizer'])
            start, elapsed = int(state['iter']), float(state['elapsed'])
            print_log(f'degradation encoder: resuming {out_file} at '
                      f'iteration {start} from {resume_file}', 'current')
        else:
            print_log(f'degradation encoder: {resume_file} is from another '
                      'recipe; starting over', 'current')
    iters, batch_size = recipe['iters'], recipe['batch_size']
    bar = tqdm(total=iters, initial=start, disable=not progress,
               desc=f'pretrain {recipe["name"]}', unit='it',
               dynamic_ncols=True, mininterval=2.0)
    tic = time.perf_counter()
    running = None
    for it in range(start, iters):
        for group in optimizer.param_groups:
            group['lr'] = _learning_rate(recipe, it)
        views, labels = _batch(data, it * batch_size, batch_size)
        loss = classifier.loss(views, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        running = value if running is None else 0.9 * running + 0.1 * value
        bar.update(1)
        bar.set_postfix(loss=f'{running:.3f}')
        done = it + 1
        if done % recipe['save_interval'] == 0 and done < iters:
            _save(dict(model=classifier.state_dict(),
                       optimizer=optimizer.state_dict(), iter=done,
                       recipe_key=key,
                       elapsed=elapsed + time.perf_counter() - tic),
                  resume_file)
        if stop_after is not None and done >= stop_after and done < iters:
            bar.close()
            _save(dict(model=classifier.state_dict(),
                       optimizer=optimizer.state_dict(), iter=done,
                       recipe_key=key,
                       elapsed=elapsed + time.perf_counter() - tic),
                  resume_file)
            return None
    bar.close()
    elapsed += time.perf_counter() - tic
    accuracy = _accuracy(classifier, val_data, recipe['val_samples'],
                         batch_size)
    meta = dict(
        producer=PRODUCER, recipe=recipe, recipe_key=key,
        recipe_version=RECIPE_VERSION, classes=list(classifier.classes),
        heldout_accuracy=accuracy, train_seconds=round(elapsed, 1))
    _save(dict(state_dict=classifier.tower_state_dict(),
               prototypes=classifier.prototypes.detach().cpu(),
               logit_scale=classifier.logit_scale.detach().cpu(),
               meta=meta), out_file)
    if osp.isfile(resume_file):
        os.remove(resume_file)
    print_log(f'degradation encoder: wrote {out_file} ({elapsed:.0f} s, '
              f'held-out accuracy {accuracy:.3f} on {recipe["val_samples"]}'
              f' new draws of the training data)', 'current')
    return meta


def read_encoder_meta(path: str) -> Optional[dict]:
    """The ``meta`` of a file this module wrote; None for any other file."""
    try:
        obj = load_checkpoint_file(path)
    except (FileNotFoundError, CheckpointReadError):  # not ours
        return None
    meta = obj.get('meta') if isinstance(obj, dict) else None
    if not isinstance(meta, dict) or meta.get('producer') != PRODUCER:
        return None
    return meta


@contextlib.contextmanager
def _lock(path: str):
    """Serialise builders of one file (several training processes)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the atomic write still holds.
        yield
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_pretrained_encoder(recipe: dict, cache_dir: str) -> str:
    """The recipe's pretrained tower, trained on first use and cached.

    Returns:
        str: ``cached_encoder_path(recipe, cache_dir)``, after training it
        if it did not exist (resuming an interrupted training).

    Raises:
        FileExistsError: The path holds a file this recipe did not produce
            (it is never overwritten).
    """
    path = cached_encoder_path(recipe, cache_dir)
    with _lock(path):
        if not osp.exists(path):
            print_log(f'degradation encoder: {path} not found, pretraining '
                      f'it (recipe {recipe["name"]!r}, {recipe["iters"]} '
                      'iterations; done once, then cached)', 'current')
            pretrain_degradation_encoder(recipe, path)
        meta = read_encoder_meta(path)
        if meta is None or meta.get('recipe_key') != recipe_key(recipe):
            raise FileExistsError(
                f'{osp.abspath(path)!r} exists but was not written by the '
                f'degradation encoder pretraining of this recipe (key '
                f'{recipe_key(recipe)}); it is left alone: move it away or '
                'choose another cache_dir')
    return path


@torch.no_grad()
def classify_tiles(classifier_logits, images: Sequence[torch.Tensor],
                   tile_size: Optional[int], max_tiles_per_side: int = 4
                   ) -> Dict[str, list]:
    """Class of each image, from its routing tiles or from the whole image.

    Args:
        classifier_logits (callable): (B, 3, H, W) images in [0, 1] ->
            (B, N) class logits.
        images (Sequence[Tensor]): (3, H, W) images in [0, 1].
        tile_size (int, optional): Tile side (the training patch size);
            None classifies the whole image resized into the tower's view.
        max_tiles_per_side (int): As ``SLERRestorer``. Default: 4.

    Returns:
        dict: ``pred`` (class index per image).
    """
    from sler_ir_mm.models.restorers.sler_restorer import (encoder_views,
                                                           routing_tile_boxes)
    preds = []
    for img in images:
        img = img[None]
        boxes = routing_tile_boxes(img.shape[-2], img.shape[-1], tile_size,
                                   max_tiles_per_side)
        if boxes is None:
            views = img
        else:
            views = encoder_views(img, (tile_size, tile_size),
                                  tile_boxes=boxes, whole=False)
        probs = classifier_logits(views).softmax(-1).mean(0)
        preds.append(int(probs.argmax()))
    return dict(pred=preds)
