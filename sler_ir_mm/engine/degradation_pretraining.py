"""Pretrain a degradation encoder: a step of its own, before training.

SLER-IR routes on a pretrained, frozen degradation encoder (DA-CLIP in the
paper). Where no such weights exist, or for degradations DA-CLIP does not
cover, :func:`pretrain_degradation_encoder` trains an open_clip image tower
to embed the degradation type of an image
(:class:`~sler_ir_mm.models.encoders.DegradationPrototypeClassifier`) and
writes a checkpoint that ``CLIPImageEncoder`` loads. What the weights
depend on is the recipe (:mod:`sler_ir_mm.models.encoders.encoder_recipe`),
so the output is cached under a key of the recipe; the registered
``PretrainedDegradationEncoder`` only reads it. ``tools/train.py`` runs
:func:`pretrain_missing_encoders` before it builds the model, and
``tools/pretrain_degradation_encoder.py`` runs the step alone.

Training is deterministic (sample ``i`` of the data depends on ``i`` only,
the model on the recipe's seed, the arithmetic on
:data:`PRETRAIN_THREADS`), resumable (a state file beside the output every
``save_interval`` iterations; a rerun goes on from it) and shows a
progress bar.
"""
import contextlib
import copy
import logging
import math
import os
import os.path as osp
import time
from typing import Dict, Iterator, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmagic.registry import DATASETS, MODELS
from tqdm import tqdm

from sler_ir_mm.models.encoders.encoder_recipe import (
    PRODUCER, RECIPE_VERSION, cached_encoder_path, check_recipe,
    config_recipes, pretrained_encoder_file, recipe_key)
from sler_ir_mm.utils.checkpoint_io import (CheckpointReadError,
                                            load_checkpoint_file)
from sler_ir_mm.utils.file_lock import file_lock
from sler_ir_mm.utils.view_geometry import encoder_views, routing_tile_boxes

__all__ = [
    'PRETRAIN_THREADS', 'SIMILARITY_QUANTILE', 'calibrate_pretrained_encoder',
    'classify_tiles', 'ensure_pretrained_encoder',
    'pretrain_degradation_encoder', 'pretrain_missing_encoders'
]

# The weights depend on how many threads torch splits each reduction
# over (a matmul or convolution sums its products in another order on 1
# than on 2 threads, and the difference grows over 1500 steps), and the
# cache key does not say how many the caller had. So the pretraining always
# runs on this many threads, whatever the caller's setting (a training
# process may run on 1 thread next to another one, or on all cores): one
# recipe, one result, on any machine of the same CPU kind. 2 is the speed of
# the 2-core machines the mini benchmark is made for; more would change
# nothing there and oversubscribe them. The data (numpy, OpenCV) is computed
# per pixel and does not depend on threads.
PRETRAIN_THREADS = 2

# The share of held-out training views that the "unlike every trained
# degradation" threshold is allowed to flag: the threshold is this quantile
# of their similarity to the nearest prototype. 1 % keeps false warnings on
# the degradations the tower knows rare while still flagging what lies
# farther from every prototype than nearly all training views.
SIMILARITY_QUANTILE = 0.01


@contextlib.contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Run the block on ``count`` intra-op torch threads, then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


@torch.no_grad()
def _similarity_calibration(classifier, data, count: int, batch_size: int,
                            quantile: float = SIMILARITY_QUANTILE) -> dict:
    """The similarity threshold below which an image looks unlike every
    trained degradation, chosen on ``count`` held-out training views.

    The similarity of a view is its embedding's cosine to the nearest
    prototype; the threshold is its ``quantile`` over the views, so that
    share of training views would be flagged.

    Returns:
        dict: ``threshold``, ``quantile``, ``samples`` and the per-class
        median similarity (``class_median``), for the record.
    """
    was_training = classifier.training
    classifier.eval()
    sims, labels = [], []
    protos = F.normalize(classifier.prototypes, dim=-1)
    for start in range(0, count, batch_size):
        views, label = _batch(data, start, min(batch_size, count - start))
        sims.append((classifier.embed(views) @ protos.t()).max(-1).values)
        labels.append(label)
    classifier.train(was_training)
    sims, labels = torch.cat(sims), torch.cat(labels)
    medians = {
        name: round(float(sims[labels == i].median()), 4)
        for i, name in enumerate(classifier.classes) if (labels == i).any()
    }
    return dict(threshold=round(float(torch.quantile(sims, quantile)), 4),
                quantile=quantile, samples=int(sims.numel()),
                class_median=medians)


def _save(obj: dict, path: str) -> None:
    from mmengine.runner import checkpoint  # atomic after sler_ir_mm.compat
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    checkpoint.save_checkpoint(obj, path)


def pretrain_degradation_encoder(recipe: dict,
                                 out_file: str,
                                 progress: bool = True,
                                 stop_after: Optional[int] = None) -> dict:
    """Train the recipe's tower and write ``out_file``.

    Runs on :data:`PRETRAIN_THREADS` torch threads (the caller's count is
    restored after), so the weights do not depend on the caller's.

    ``out_file`` holds ``state_dict`` (the tower under ``visual.*``, what
    ``CLIPImageEncoder`` reads), ``prototypes`` and ``logit_scale``, and
    ``meta``: the recipe, its key, the classes, the held-out accuracy, the
    wall time and the torch threads it ran on. A state file
    ``<out_file>.resume.pth`` is written every ``save_interval`` iterations
    and removed at the end; a call that finds one of the same recipe
    resumes from it, with the same result as an uninterrupted run.

    Args:
        recipe (dict): See
            :func:`~sler_ir_mm.models.encoders.encoder_recipe.check_recipe`.
        out_file (str): Output checkpoint.
        progress (bool): Show a progress bar. Default: True.
        stop_after (int, optional): Stop (leaving the resume state) once
            this many iterations are done; for tests of the resume.

    Returns:
        dict: The ``meta`` written (None with ``stop_after``).
    """
    with _torch_threads(PRETRAIN_THREADS):
        return _pretrain(check_recipe(recipe), out_file, progress,
                         stop_after)


def _pretrain(recipe: dict, out_file: str, progress: bool,
              stop_after: Optional[int]) -> Optional[dict]:
    """:func:`pretrain_degradation_encoder` of a checked recipe."""
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
        heldout_accuracy=accuracy, train_seconds=round(elapsed, 1),
        torch_threads=torch.get_num_threads(),
        similarity_calibration=_similarity_calibration(
            classifier, val_data, recipe['val_samples'], batch_size))
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


def calibrate_pretrained_encoder(recipe: dict, path: str) -> dict:
    """Add the similarity calibration to a pretrained file that lacks it.

    Files written before the calibration existed hold the same tower and
    prototypes; this computes the threshold as the pretraining now does
    (same held-out views) and rewrites the file atomically, under the
    recipe's lock, with nothing else changed.

    Args:
        recipe (dict): The recipe that wrote ``path``.
        path (str): Its pretrained file.

    Returns:
        dict: The calibration (see ``meta['similarity_calibration']``).
    """
    recipe = check_recipe(recipe)
    with file_lock(path), _torch_threads(PRETRAIN_THREADS):
        obj = load_checkpoint_file(path, 'degradation encoder')
        meta = obj.get('meta') if isinstance(obj, dict) else None
        if not isinstance(meta, dict) or \
                meta.get('recipe_key') != recipe_key(recipe):
            raise ValueError(f'{path} was not written by this recipe '
                             f'({recipe["name"]!r}); pretrain it again')
        classifier, _, val_data = _build(recipe)
        classifier.encoder.visual.load_state_dict({
            k[len('visual.'):]: v
            for k, v in obj['state_dict'].items()
        })
        with torch.no_grad():
            classifier.prototypes.copy_(obj['prototypes'])
            classifier.logit_scale.copy_(obj['logit_scale'])
        calibration = _similarity_calibration(
            classifier, val_data, recipe['val_samples'],
            recipe['batch_size'])
        obj['meta'] = dict(meta, similarity_calibration=calibration)
        _save(obj, path)
    return calibration


def ensure_pretrained_encoder(recipe: dict,
                              cache_dir: str,
                              progress: bool = True) -> str:
    """The recipe's pretrained tower: trained if missing, else reused.

    Processes that call this at once for one recipe (the processes of one
    training job) wait for each other: one trains, the others find its
    file.

    Args:
        recipe (dict): See
            :func:`~sler_ir_mm.models.encoders.encoder_recipe.check_recipe`.
        cache_dir (str): Folder of the pretrained towers.
        progress (bool): Show a progress bar. Default: True.

    Returns:
        str: ``cached_encoder_path(recipe, cache_dir)``, after training it
        if it did not exist (resuming an interrupted training).

    Raises:
        FileExistsError: The path holds a file this recipe did not produce
            (it is never overwritten).
    """
    path = cached_encoder_path(recipe, cache_dir)
    with file_lock(path):
        if not osp.exists(path):
            print_log(f'degradation encoder: {path} not found, pretraining '
                      f'it (recipe {recipe["name"]!r}, {recipe["iters"]} '
                      'iterations; done once, then cached)', 'current')
            pretrain_degradation_encoder(recipe, path, progress=progress)
        return pretrained_encoder_file(recipe, cache_dir)


def pretrain_missing_encoders(model_cfg: dict,
                              progress: bool = True) -> List[str]:
    """Pretrain every ``PretrainedDegradationEncoder`` of a model config
    whose file is missing (:func:`ensure_pretrained_encoder`), so that the
    model can be built.

    Args:
        model_cfg (dict): A model config (``cfg.model``).
        progress (bool): Show a progress bar. Default: True.

    Returns:
        list[str]: The pretrained files, one per such encoder.
    """
    return [
        ensure_pretrained_encoder(recipe, cache_dir, progress)
        for recipe, cache_dir in config_recipes(model_cfg)
    ]


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
