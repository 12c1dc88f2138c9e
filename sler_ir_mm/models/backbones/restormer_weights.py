"""Warm-starting SLERNet's experts from Restormer checkpoints.

A Restormer key ``encoder_level1.0.norm1.body.weight`` of a routed layer
becomes ``encoder_level1.experts.<e>.0.norm1.body.weight`` for each chosen
expert ``e``; the shared parts (patch embedding, resamplers, reductions,
output) keep their names.
"""
import os
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from sler_ir_mm.utils.checkpoint_io import (load_checkpoint_file,
                                            unwrap_state_dict)

__all__ = [
    'RestormerLoadInfo', 'load_restormer_weights', 'unwrap_restormer_weights'
]


class RestormerLoadInfo(NamedTuple):
    """What :func:`load_restormer_weights` did.

    Attributes:
        loaded_keys (list[str]): SLERNet keys that received a value.
        missing_keys (list[str]): SLERNet keys the checkpoint had no value for.
        unexpected_keys (list[str]): Checkpoint keys with no SLERNet target.
        mismatched_keys (list[str]): Checkpoint keys whose shape differs,
            as ``'key: checkpoint shape vs model shape'``.
        experts (list[int]): Experts the block-stack weights went to.
    """
    loaded_keys: List[str]
    missing_keys: List[str]
    unexpected_keys: List[str]
    mismatched_keys: List[str]
    experts: List[int]


def unwrap_restormer_weights(checkpoint: Mapping,
                             param_key: Optional[str] = None
                             ) -> Dict[str, Tensor]:
    """Plain Restormer key -> tensor dict out of the usual wrappers.

    Args:
        checkpoint (Mapping): A Restormer state dict or a checkpoint wrapping
            one (see :func:`load_restormer_weights`).
        param_key (str, optional): Entry holding the weights; by default
            'params', then 'params_ema', then 'state_dict' are tried.

    Returns:
        dict: Restormer keys (MMagic layout) -> tensors.
    """
    keys = ('params', 'params_ema', 'state_dict')
    if param_key is not None:
        if param_key not in checkpoint:
            raise KeyError(f'param_key {param_key!r} not in checkpoint '
                           f'(keys: {sorted(checkpoint)[:8]})')
        checkpoint, keys = checkpoint[param_key], ()
        if not isinstance(checkpoint, Mapping):
            raise TypeError(f'checkpoint[{param_key!r}] must be a state dict,'
                            f' got {type(checkpoint).__name__}')
    # BasicSR (official Restormer) stores 'params' and, for EMA training,
    # 'params_ema'; MMEngine stores 'state_dict'. Keep only DataParallel's
    # ('module.') and then MMagic's model ('generator.') keys: the other
    # submodules of an editor are not Restormer's.
    return unwrap_state_dict(
        checkpoint,
        keys=keys,
        strip_prefixes=(),
        select_prefixes=('module.', 'generator.'),
        tensors_only=True)


def load_restormer_weights(net: nn.Module,
                           state_dict: Union[Mapping, str, os.PathLike],
                           experts: Optional[Sequence[int]] = None,
                           strict: bool = True,
                           load_shared: bool = True,
                           param_key: Optional[str] = None
                           ) -> RestormerLoadInfo:
    """Warm-start a SLERNet from a Restormer checkpoint of the same shape.

    Block-stack keys (e.g. ``encoder_level1.0.norm1.body.weight``) are copied
    into each chosen expert; the shared parts (patch embedding, resamplers,
    reductions, output) are copied once. To start each expert from a
    different public Restormer checkpoint (e.g. the official denoising,
    deraining and deblurring models), call this once per expert, e.g.
    ``load_restormer_weights(net, ckpt_k, experts=[k])``; the shared parts
    come from the last call with ``load_shared=True``.

    Args:
        net (nn.Module): The network to load into (in place): a SLERNet,
            or any module with its ``num_experts``, ``ROUTED_LAYERS`` and
            key layout (typed loosely so this module need not import
            slernet.py, which imports it).
        state_dict (Mapping | str | PathLike): A Restormer state dict in
            MMagic key layout, or a checkpoint wrapping one: ``{'params':
            ...}`` / ``{'params_ema': ...}`` (official Restormer / BasicSR)
            or ``{'state_dict': {'generator.<key>': ...}}`` (MMagic), or a
            local path to such a file.
        experts (Sequence[int], optional): Experts receiving the block-stack
            weights. Default: all.
        strict (bool): Raise if keys are missing, unexpected or of another
            shape. Otherwise load what matches. Default: True.
        load_shared (bool): Also load the shared parts; if False their keys
            are ignored. Default: True.
        param_key (str, optional): Entry of the checkpoint holding the
            weights; by default 'params', then 'params_ema', then
            'state_dict' are tried.

    Returns:
        RestormerLoadInfo: Loaded, missing, unexpected and mismatched keys.

    Raises:
        RuntimeError: With ``strict=True``, if keys are missing, unexpected
            or mismatched (a few of each are listed).
    """
    if isinstance(state_dict, (str, os.PathLike)):
        state_dict = load_checkpoint_file(
            state_dict, what='Restormer checkpoint', weights_only=True)
    if not isinstance(state_dict, Mapping):
        raise TypeError('state_dict must be a mapping or a checkpoint '
                        f'path, got {type(state_dict).__name__}')
    source = unwrap_restormer_weights(state_dict, param_key)

    if experts is None:
        experts = list(range(net.num_experts))
    else:
        experts = sorted({int(e) for e in experts})
        if not experts or not all(0 <= e < net.num_experts for e in experts):
            raise ValueError(f'experts must be a non-empty list of indices'
                             f' in [0, {net.num_experts}), got {experts}')

    own = net.state_dict(keep_vars=True)
    routed = set(net.ROUTED_LAYERS)
    targets: Dict[str, Tensor] = {}
    unexpected: List[str] = []
    for key, value in source.items():
        layer, _, rest = key.partition('.')
        if layer in routed:
            names = [f'{layer}.experts.{e}.{rest}' for e in experts]
        elif load_shared:
            names = [key]
        else:
            continue
        if not all(name in own for name in names):
            unexpected.append(key)
            continue
        targets.update({name: value for name in names})

    def wanted(name: str) -> bool:
        layer, _, rest = name.partition('.')
        if layer in routed:
            return int(rest.split('.')[1]) in experts
        return load_shared

    missing = [k for k in own if wanted(k) and k not in targets]
    mismatched = [
        f'{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}'
        for k, v in targets.items() if v.shape != own[k].shape
    ]
    if strict and (missing or unexpected or mismatched):
        problems = []
        for what, keys in (('missing', missing), ('unexpected', unexpected),
                           ('shape-mismatched', mismatched)):
            if keys:
                shown = ', '.join(keys[:5])
                more = f' (+{len(keys) - 5} more)' if len(keys) > 5 else ''
                problems.append(f'{len(keys)} {what} keys: {shown}{more}')
        raise RuntimeError('Restormer weights do not match this SLERNet '
                           '(same dim/num_blocks/heads/bias/LayerNorm_type?): '
                           + '; '.join(problems))

    loaded = []
    with torch.no_grad():
        for name, value in targets.items():
            if value.shape == own[name].shape:
                own[name].copy_(value)
                loaded.append(name)
    return RestormerLoadInfo(loaded, missing, unexpected, mismatched,
                             list(experts))
