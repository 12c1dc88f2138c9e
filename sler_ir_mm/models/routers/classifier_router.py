"""Classification-based router: the routing baseline of the paper's Table 3.

Instead of routing vectors on a hypersphere, an MLP classifies each image's
degradation feature into one of N degradation classes and a fixed table
maps every class to one expert per routed layer. Trained with L1 alone the
head learns whatever classes help restoration; with
``DegradationClassificationLoss`` it is supervised by the task labels.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmagic.registry import MODELS

from sler_ir_mm.utils import check_int
from .base_router import BaseRouter, RoutingResult

__all__ = ['ClassifierRouter', 'default_expert_map']


def default_expert_map(num_layers: int, num_classes: int,
                       num_experts: int) -> Tensor:
    """Deterministic class -> expert table, (num_layers, num_classes) long.

    Each class c is written with D base-``num_experts`` digits d_0..d_{D-1}
    (D the fewest digits that count ``num_classes`` classes); layer k reads
    digit j = k mod D through the prefix sum ``(d_0 + ... + d_j) mod C``
    and shifts it by ``k // D``. The prefix sums are a bijection of the
    digits, so:

    - two classes differ at one layer at least whenever
      ``num_experts ** num_layers >= num_classes`` (e.g. any <= 256 classes
      over 8 layers with C >= 2), the only case where a table can tell all
      classes apart;
    - every layer is balanced: each expert serves floor(N / C) or
      ceil(N / C) classes (each run of C classes aligned on a multiple of
      C covers every residue once);
    - with N <= C every class has its own expert at every layer.

    Args:
        num_layers (int): Number K of routed layers.
        num_classes (int): Number N of degradation classes.
        num_experts (int): Number C of experts per layer.

    Returns:
        Tensor: (K, N) long table with entries in [0, C).
    """
    check_int('num_layers', num_layers)
    check_int('num_classes', num_classes)
    check_int('num_experts', num_experts)
    if num_experts == 1:
        return torch.zeros(num_layers, num_classes, dtype=torch.long)
    num_digits = 1
    while num_experts**num_digits < num_classes:
        num_digits += 1
    classes = torch.arange(num_classes)
    # digits[j, c]: j-th base-C digit of c; prefix[j, c] = d_0 + ... + d_j.
    digits = torch.stack([(classes // num_experts**j) % num_experts
                          for j in range(num_digits)])
    prefix = digits.cumsum(0)
    layers = torch.arange(num_layers)
    return (prefix[layers % num_digits] +
            (layers // num_digits).unsqueeze(1)) % num_experts


def _checked_expert_map(expert_map: Union[Sequence[Sequence[int]], Tensor],
                        num_layers: int, num_classes: int,
                        num_experts: int) -> Tensor:
    """A user-given table as a (K, N) long tensor, or a clear ValueError."""
    try:
        table = torch.as_tensor(expert_map)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError('expert_map must be a (num_layers, num_classes) '
                         f'table of ints, got {expert_map!r}') from err
    if table.dtype == torch.bool or table.is_floating_point() \
            or table.is_complex():
        raise ValueError(
            f'expert_map must hold ints, got dtype {table.dtype}')
    if tuple(table.shape) != (num_layers, num_classes):
        raise ValueError(
            f'expert_map must have shape (num_layers, num_classes) = '
            f'({num_layers}, {num_classes}), got {tuple(table.shape)}')
    if int(table.min()) < 0 or int(table.max()) >= num_experts:
        raise ValueError(
            f'expert_map entries must be expert indices in [0, '
            f'{num_experts}) (num_experts={num_experts}), got values in '
            f'[{int(table.min())}, {int(table.max())}]')
    return table.long().clone()


@MODELS.register_module()
class ClassifierRouter(BaseRouter):
    """Layer-wise expert routing through a degradation classifier.

    ``feat -> LayerNorm -> Linear -> GELU -> Linear -> class logits (B, N)``;
    layer k's expert probabilities are the sums of the class probabilities
    over the classes that ``expert_map[k]`` sends to each expert, so soft
    (stage-1) routing is differentiable and the L1 loss alone trains the
    head; the hard route takes, at every layer, the expert of the arg-max
    class. A drop-in for :class:`SphericalRouter` in ``SLERRestorer``; the
    :class:`RoutingResult` it returns holds:

    - ``embeddings``: the L2-normalised class logits repeated per layer,
      (B, K, N) (there are no spherical routing vectors);
    - ``logits``: log of the expert probabilities, (B, K, C) (an expert
      no class maps to gets log of the smallest positive float);
    - ``probs`` (B, K, C), ``indices`` (B, K) and ``class_logits`` (B, N).

    Args:
        in_channels (int): Dimension of the degradation feature.
        num_layers (int): Number K of routed backbone layers. Default: 8.
        num_experts (int): Number C of experts per layer. Default: 3.
        num_classes (int): Number N of degradation classes. Default: 5.
        hidden_channels (int, optional): Hidden width of the head.
            Default: ``in_channels``.
        expert_map (Sequence[Sequence[int]] | Tensor, optional): Fixed
            (K, N) class -> expert table, entries in [0, C). Default:
            :func:`default_expert_map`, which gives every class its own
            route whenever ``C ** K >= N``.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    # Class logits for L_cls; its embeddings are not routing vectors.
    classifies = True
    has_spherical_embeddings = False

    def __init__(self,
                 in_channels: int,
                 num_layers: int = 8,
                 num_experts: int = 3,
                 num_classes: int = 5,
                 hidden_channels: Optional[int] = None,
                 expert_map: Optional[Union[Sequence[Sequence[int]],
                                            Tensor]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_int('in_channels', in_channels)
        check_int('num_layers', num_layers)
        check_int('num_experts', num_experts)
        check_int('num_classes', num_classes)
        if hidden_channels is None:
            hidden_channels = in_channels
        check_int('hidden_channels', hidden_channels)
        if expert_map is None:
            table = default_expert_map(num_layers, num_classes, num_experts)
        else:
            table = _checked_expert_map(expert_map, num_layers, num_classes,
                                        num_experts)

        self.in_channels = in_channels
        self.num_layers = num_layers
        self.num_experts = num_experts
        self.num_classes = num_classes
        self.hidden_channels = hidden_channels

        # LayerNorm first: CLIP CLS features have an arbitrary scale.
        self.head = nn.Sequential(
            nn.LayerNorm(in_channels),
            nn.Linear(in_channels, hidden_channels),
            nn.GELU(),
            nn.Linear(hidden_channels, num_classes),
        )
        # Buffers: the table travels with the checkpoint, so test-time
        # routes are the trained ones; the flag restores stage 2's freeze.
        self.register_buffer('expert_map', table)

    # ------------------------------------------------------------------
    # routing
    # ------------------------------------------------------------------
    def forward(self, feat: Tensor) -> RoutingResult:
        """Route a batch.

        Args:
            feat (Tensor): (B, in_channels) degradation features.

        Returns:
            RoutingResult: embeddings (B, K, N), logits and probs (B, K, C),
            indices (B, K), class_logits (B, N); all float tensors fp32
            (also under AMP).
        """
        if feat.dim() != 2 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'feat must have shape (B, {self.in_channels}), '
                f'got {tuple(feat.shape)}')
        return self._route_classes(self.head(feat))

    def _route_classes(self, class_logits: Tensor) -> RoutingResult:
        """Routing result of (B, N) class logits."""
        # fp32 like the spherical router: exact arg-max and probabilities.
        with torch.autocast(class_logits.device.type, enabled=False):
            class_logits = class_logits.float()
            class_probs = class_logits.softmax(dim=-1)
            table = F.one_hot(self.expert_map,
                              self.num_experts).to(class_probs)  # (K, N, C)
            probs = torch.einsum('bn,knc->bkc', class_probs, table)
            logits = probs.clamp(min=torch.finfo(probs.dtype).tiny).log()
            emb = F.normalize(class_logits, dim=-1)
            emb = emb.unsqueeze(1).repeat(1, self.num_layers, 1)
        indices = self.expert_map[:, class_logits.argmax(dim=-1)].t()
        return RoutingResult(emb, logits, probs, indices, class_logits)

    def aggregate_tiles(self, routed: RoutingResult,
                        num_tiles: int) -> RoutingResult:
        """One route per image from its tiles: the class of the highest
        mean class probability over the tiles, and that class's route (a
        route of the table, unlike a per-layer vote)."""
        if num_tiles == 1:
            return routed
        probs = routed.class_logits.float().softmax(-1)
        probs = probs.view(-1, num_tiles, probs.shape[-1]).mean(1)
        return self._route_classes(
            probs.clamp(min=torch.finfo(probs.dtype).tiny).log())

    def extra_repr(self) -> str:
        return (f'num_layers={self.num_layers}, '
                f'num_experts={self.num_experts}, '
                f'num_classes={self.num_classes}')
