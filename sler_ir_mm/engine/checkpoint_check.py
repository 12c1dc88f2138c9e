"""Check a checkpoint against a model before training loads it.

MMEngine's ``load_from`` loads non-strictly: missing, unexpected and
shape-mismatched weights only produce warnings, and training goes on from a
partly random model. :func:`check_checkpoint_matches` compares the
checkpoint's keys and shapes with the model's first and explains a mismatch,
recognising the usual SLER-IR mistakes (another number of experts, a plain
Restormer checkpoint, a model without experts).
"""
import os
import os.path as osp
import re
from collections import defaultdict
from typing import Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from sler_ir_mm.utils.checkpoint_io import (CheckpointReadError,
                                            load_checkpoint_file,
                                            read_error_message,
                                            unwrap_state_dict)
from sler_ir_mm.utils.errors import SLERIRError

__all__ = [
    'CheckpointMismatchError', 'check_checkpoint_matches',
    'checkpoint_to_load', 'compare_state_shapes', 'read_checkpoint_shapes'
]

# Routed layers of SLERNet hold their experts as '<layer>.experts.<j>.<...>'.
_EXPERT_KEY = re.compile(r'^(?P<layer>.+)\.experts\.(?P<index>\d+)\.'
                         r'(?P<rest>.+)$')

Shapes = Dict[str, Optional[Tuple[int, ...]]]


class CheckpointMismatchError(SLERIRError, ValueError):
    """A checkpoint cannot be read, or does not fit the model."""


class UnreadableCheckpointError(CheckpointMismatchError):
    """A checkpoint file is missing, empty or damaged: loading only the
    matching weights cannot help, another checkpoint can."""


def _other_checkpoints(work_dir: str, exclude: str = '') -> List[str]:
    """The work dir's checkpoint files, newest first."""
    if not work_dir or not osp.isdir(work_dir):
        return []
    names = [
        osp.join(work_dir, n) for n in os.listdir(work_dir)
        if n.endswith('.pth') and osp.join(work_dir, n) != exclude
    ]
    return sorted(names, key=osp.getmtime, reverse=True)


def resume_hint(work_dir: str, exclude: str = '') -> str:
    """'resume from an earlier checkpoint by name' with the newest one."""
    others = _other_checkpoints(work_dir, exclude)
    if not others:
        return 'no other checkpoint is in the work dir'
    return (f'resume from an earlier checkpoint by name, e.g. '
            f'--resume {others[0]}')


def checkpoint_to_load(load_from: Optional[str], resume: bool,
                       work_dir: str) -> Optional[str]:
    """The checkpoint a Runner with these settings will load, if any.

    Args:
        load_from (str, optional): The config's ``load_from``.
        resume (bool): The config's ``resume``; without ``load_from`` it
            means the latest checkpoint of ``work_dir``.
        work_dir (str): The run's work dir.
    """
    if load_from:
        return load_from
    if resume:
        from mmengine.runner import find_latest_checkpoint
        latest = find_latest_checkpoint(work_dir)
        if latest is not None and not latest.strip():
            # MMEngine writes last_checkpoint in place; a kill in that
            # moment leaves it empty.
            raise UnreadableCheckpointError(
                f'{osp.join(work_dir, "last_checkpoint")} is empty (the run '
                f'was killed while writing it): {resume_hint(work_dir)}')
        return latest
    return None


def read_checkpoint_shapes(path: str) -> Shapes:
    """Key -> shape of the model weights in a checkpoint file.

    Local files are memory-mapped, so only the shapes are read, not the
    tensors; other URIs go through MMEngine's loaders.

    Args:
        path (str): Checkpoint path or URI, as ``load_from`` takes it.

    Returns:
        dict: Key -> shape (None for a non-tensor entry), DDP's ``module.``
        prefix removed as MMEngine does when loading. Of a BasicSR
        (official Restormer) file, ``{'params': ...}``, the inner weights.
    """
    if '://' in path and not osp.isfile(path):
        from mmengine.runner import CheckpointLoader
        try:
            ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
        except Exception as err:  # noqa: BLE001
            raise UnreadableCheckpointError(read_error_message(
                path, err)) from None
    else:
        try:
            # torch's default weights_only, as MMEngine's load_from has.
            ckpt = load_checkpoint_file(path, weights_only=None, mmap=True)
        except FileNotFoundError:
            raise UnreadableCheckpointError(
                f'checkpoint not found: {path}') from None
        except CheckpointReadError as err:
            raise UnreadableCheckpointError(str(err)) from None
    # A file without a weights dict has no weights that could match: it is
    # unreadable as a checkpoint (--no-strict-load cannot help there).
    if not isinstance(ckpt, Mapping):
        raise UnreadableCheckpointError(
            f'{path} holds a {type(ckpt).__name__}, not a checkpoint dict')
    if 'state_dict' in ckpt and not isinstance(ckpt['state_dict'], Mapping):
        raise UnreadableCheckpointError(
            f"{path}: 'state_dict' is a "
            f"{type(ckpt['state_dict']).__name__}, not a dict")
    # MMEngine's 'state_dict'; else the BasicSR (official Restormer) layout:
    # MMEngine would find no model weights at all, but the inner keys tell
    # what the file holds.
    state = unwrap_state_dict(
        ckpt, keys=('state_dict', 'params', 'params_ema'),
        strip_prefixes=('module.', ))
    return {
        k: tuple(v.shape) if isinstance(v, torch.Tensor) else None
        for k, v in state.items()
    }


def check_is_checkpoint(path: str) -> None:
    """Raise an :class:`UnreadableCheckpointError` unless ``path`` holds
    model weights (a file that cannot be read, or holds no weights dict)."""
    read_checkpoint_shapes(path)


def _model_shapes(model: nn.Module) -> Shapes:
    model = model.module if is_model_wrapper(model) else model
    return {
        k: tuple(v.shape) if isinstance(v, torch.Tensor) else None
        for k, v in model.state_dict().items()
    }


def _experts_per_layer(keys) -> Dict[str, int]:
    """Routed layer prefix -> number of experts found in ``keys``."""
    found = defaultdict(set)
    for key in keys:
        match = _EXPERT_KEY.match(key)
        if match:
            found[match['layer']].add(int(match['index']))
    return {layer: len(indices) for layer, indices in found.items()}


def _listing(what: str, items: List[str], limit: int) -> str:
    shown = ', '.join(items[:limit])
    more = f' (+{len(items) - limit} more)' if len(items) > limit else ''
    return f'{len(items)} {what}: {shown}{more}'


def _diagnoses(ckpt: Shapes, model: Shapes) -> List[str]:
    """What the key layouts say about the kind of mismatch."""
    notes = []
    ckpt_experts = _experts_per_layer(ckpt)
    model_experts = _experts_per_layer(model)
    if ckpt_experts and model_experts:
        have = sorted(set(ckpt_experts.values()))
        want = sorted(set(model_experts.values()))
        if have != want:
            # 'generator.encoder_level1' -> the config's model.generator.
            owner = next(iter(model_experts)).split('.')[0]
            have_s = '/'.join(map(str, have))
            want_s = '/'.join(map(str, want))
            notes.append(
                f'the checkpoint has C={have_s} experts per layer, the '
                f'config builds num_experts={want_s}: set '
                f'model.{owner}.num_experts={have[-1]} (e.g. --cfg-options '
                f'model.{owner}.num_experts={have[-1]}) or use a checkpoint '
                f'trained with {want_s} experts')
    elif model_experts and not ckpt_experts:
        # A plain Restormer has '<layer>.<block>...' where SLERNet has
        # '<layer>.experts.<j>.<block>...'.
        # The checkpoint may or may not have the model's 'generator.'.
        plain = []
        for match in filter(None, map(_EXPERT_KEY.match, model)):
            key = f"{match['layer']}.{match['rest']}"
            plain += [key, key.split('.', 1)[-1]]
        found = [k for k in plain if k in ckpt]
        if found:
            example = found[0]
            notes.append(
                'the checkpoint holds a plain Restormer (keys like '
                f"'{example}', no '.experts.'), not a SLER-IR model. "
                'load_from cannot start experts from it: copy its weights '
                'into every expert with SLERNet.load_restormer_weights(path)'
                ' (see its docstring), save that model, and load_from the '
                'saved file')
        else:
            notes.append('the checkpoint has no routed experts '
                         "('.experts.' keys), the model has: it is not a "
                         'SLER-IR checkpoint')
    elif ckpt_experts and not model_experts:
        have = '/'.join(map(str, sorted(set(ckpt_experts.values()))))
        notes.append(
            f'the checkpoint is a SLER-IR model with C={have} experts per '
            'layer, the config builds a model without experts (e.g. a '
            'Restormer baseline): use the SLER-IR config it was trained with')
    shared = set(ckpt) & set(model)
    if not notes and len(shared) < len(model) / 2:
        notes.append(
            'fewer than half of the model\'s weights are in the checkpoint: '
            'it is probably of another architecture (checkpoint modules: '
            f'{", ".join(_top_modules(ckpt))}; model modules: '
            f'{", ".join(_top_modules(model))})')
    return notes


def _top_modules(shapes: Shapes, limit: int = 8) -> List[str]:
    names = sorted({k.split('.')[0] for k in shapes})
    return names[:limit] + (['...'] if len(names) > limit else [])


def compare_state_shapes(ckpt: Shapes,
                         model: Shapes,
                         max_listed: int = 5) -> List[str]:
    """The problems of loading ``ckpt`` into ``model``, [] if none.

    Args:
        ckpt (dict): Checkpoint key -> shape (None for non-tensors).
        model (dict): Model state key -> shape.
        max_listed (int): Keys quoted per kind of problem.

    Returns:
        list[str]: Diagnoses first (e.g. another number of experts), then
        the missing, unexpected and shape-mismatched keys.
    """
    missing = [k for k in model if k not in ckpt]
    unexpected = [k for k in ckpt if k not in model]
    mismatched = [
        f'{k}: {ckpt[k]} vs {model[k]}' for k in model
        if k in ckpt and ckpt[k] != model[k]
    ]
    if not (missing or unexpected or mismatched):
        return []
    problems = _diagnoses(ckpt, model)
    for what, keys in (
        ('missing keys (in the model, not in the checkpoint)', missing),
        ('unexpected keys (in the checkpoint, not in the model)',
         unexpected),
        ('shape mismatches (checkpoint vs model)', mismatched),
    ):
        if keys:
            problems.append(_listing(what, keys, max_listed))
    return problems


def check_checkpoint_matches(model: nn.Module,
                             checkpoint: Union[str, Shapes],
                             max_listed: int = 5) -> None:
    """Raise if ``checkpoint`` would not load completely into ``model``.

    Args:
        model (nn.Module): The built model (a wrapper is unwrapped).
        checkpoint (str | dict): Checkpoint path/URI, or the key -> shape
            dict of :func:`read_checkpoint_shapes`.
        max_listed (int): Keys quoted per kind of problem. Default: 5.

    Raises:
        CheckpointMismatchError: The checkpoint cannot be read, or has
            missing, unexpected or shape-mismatched weights; the message
            says what differs and what to change.
    """
    name = checkpoint if isinstance(checkpoint, str) else 'the checkpoint'
    if isinstance(checkpoint, str):
        checkpoint = read_checkpoint_shapes(checkpoint)
    problems = compare_state_shapes(checkpoint, _model_shapes(model),
                                    max_listed)
    if problems:
        raise CheckpointMismatchError(
            f'checkpoint {name} does not match the model built from the '
            'config:\n' + '\n'.join(f'  - {p}' for p in problems))
