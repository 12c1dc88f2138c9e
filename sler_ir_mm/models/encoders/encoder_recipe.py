"""A degradation encoder's pretraining recipe and the file it makes.

A *recipe* (a plain dict, see :func:`check_recipe`) says everything the
pretrained weights depend on, so they are cached under a key of the recipe
(:func:`cached_encoder_path`). Training them is a step of its own
(:mod:`sler_ir_mm.engine.degradation_pretraining`,
``tools/pretrain_degradation_encoder.py``; ``tools/train.py`` runs it when
the file is missing); building a model only reads the file.
"""
import hashlib
import json
import os.path as osp
from typing import Iterator, Optional, Tuple

from sler_ir_mm.datasets.mini_benchmark import BENCHMARK_VERSION
from sler_ir_mm.utils.checkpoint_io import (CheckpointReadError,
                                            load_checkpoint_file)
from sler_ir_mm.utils.errors import SLERIRError

__all__ = [
    'ENCODER_TYPE', 'DEFAULT_CACHE_DIR', 'PRETRAIN_COMMAND', 'PRODUCER',
    'RECIPE_VERSION', 'EncoderNotPretrainedError', 'cached_encoder_path',
    'check_recipe', 'config_recipes', 'pretrained_encoder_file',
    'read_encoder_meta', 'recipe_key'
]

# Bump when the training code changes what a recipe produces. 2: the
# pretraining runs on a fixed number of torch threads (it depended on the
# caller's thread count before, which the key did not cover).
RECIPE_VERSION = 2
PRODUCER = 'sler_ir_mm.pretrain_degradation_encoder'
#: The registered type whose config holds a recipe.
ENCODER_TYPE = 'PretrainedDegradationEncoder'
DEFAULT_CACHE_DIR = 'checkpoints/degradation_encoders'
#: The command that builds a config's pretrained encoders.
PRETRAIN_COMMAND = 'python tools/pretrain_degradation_encoder.py CONFIG'
_RECIPE_KEYS = {
    'name': str, 'encoder': dict, 'data': dict, 'iters': int,
    'batch_size': int, 'lr': float, 'weight_decay': float,
    'warmup_iters': int, 'seed': int, 'val_samples': int,
    'save_interval': int
}


class EncoderNotPretrainedError(SLERIRError, FileNotFoundError):
    """A config's pretrained degradation encoder has not been built yet."""


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

    Args:
        recipe (dict): The recipe (an mmengine ``ConfigDict`` works too).

    Raises:
        TypeError: ``recipe`` is no dict.
        ValueError: A key is missing, unknown or of a wrong value.
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
    """12 hex digits of the SHA-256 of the recipe, ``RECIPE_VERSION`` and
    the mini benchmark's version in canonical JSON: the cache key of its
    output.

    The benchmark's version is in the key because a recipe's synthetic
    data defaults to the benchmark's training photos and degradations
    (``SyntheticDegradationDataset``), which a new version changes without
    changing the recipe.
    """
    text = json.dumps(
        dict(recipe=check_recipe(recipe), version=RECIPE_VERSION,
             synthetic_data=BENCHMARK_VERSION),
        sort_keys=True)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]


def cached_encoder_path(recipe: dict, cache_dir: str) -> str:
    """``<cache_dir>/<name>-<recipe key>.pth``."""
    return osp.join(cache_dir, f'{recipe["name"]}-{recipe_key(recipe)}.pth')


def read_encoder_meta(path: str) -> Optional[dict]:
    """The ``meta`` of a file the pretraining wrote; None for any other
    file."""
    try:
        obj = load_checkpoint_file(path)
    except (FileNotFoundError, CheckpointReadError):  # not ours
        return None
    meta = obj.get('meta') if isinstance(obj, dict) else None
    if not isinstance(meta, dict) or meta.get('producer') != PRODUCER:
        return None
    return meta


def config_recipes(model_cfg: dict) -> Iterator[Tuple[dict, str]]:
    """``(recipe, cache_dir)`` of every ``PretrainedDegradationEncoder`` in
    a model config (e.g. ``model.degradation_encoder``), in config order.

    Args:
        model_cfg (dict): A model config (``cfg.model``).
    """
    if isinstance(model_cfg, dict):
        if model_cfg.get('type') == ENCODER_TYPE:
            yield (model_cfg.get('recipe'),
                   model_cfg.get('cache_dir', DEFAULT_CACHE_DIR))
            return
        values = model_cfg.values()
    elif isinstance(model_cfg, (list, tuple)):
        values = model_cfg
    else:
        return
    for value in values:
        yield from config_recipes(value)


def pretrained_encoder_file(recipe: dict, cache_dir: str,
                            config_key: str = 'checkpoint') -> str:
    """The recipe's pretrained file, which must exist and be the recipe's.

    Args:
        recipe (dict): See :func:`check_recipe`.
        cache_dir (str): Folder of the pretrained files.
        config_key (str): Config key quoted in errors.

    Raises:
        EncoderNotPretrainedError: The file does not exist yet.
        FileExistsError: The path holds a file this recipe did not write.
    """
    path = cached_encoder_path(recipe, cache_dir)
    if not osp.exists(path):
        raise EncoderNotPretrainedError(
            f'`{config_key}`: the pretrained degradation encoder {path} of '
            f'recipe {recipe["name"]!r} does not exist yet. Building a '
            'model never trains one: pretrain it once with '
            f'`{PRETRAIN_COMMAND}` (tools/train.py runs that step first '
            'when the file is missing). A trained SLER-IR checkpoint holds '
            'the encoder too, but the model is built before it is loaded.')
    meta = read_encoder_meta(path)
    if meta is None or meta.get('recipe_key') != recipe_key(recipe):
        raise FileExistsError(
            f'{osp.abspath(path)!r} exists but was not written by the '
            f'degradation encoder pretraining of this recipe (key '
            f'{recipe_key(recipe)}); it is left alone: move it away or '
            'choose another cache_dir')
    return path
