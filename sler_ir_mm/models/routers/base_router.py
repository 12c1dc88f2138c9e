"""What every SLER-IR router shares: its output, freezing and the
assignment statistics of the training log."""
import math
from abc import ABCMeta, abstractmethod
from typing import Dict, NamedTuple, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

__all__ = ['BaseRouter', 'RoutingResult', 'expert_counts']


class RoutingResult(NamedTuple):
    """Output of a router (:class:`SphericalRouter`, ``ClassifierRouter``).

    Attributes:
        embeddings (Tensor): (B, K, d) unit routing vectors.
        logits (Tensor): (B, K, C) cosine to each center divided by tau.
        probs (Tensor): (B, K, C) softmax of ``logits`` over the experts.
        indices (Tensor): (B, K) long, arg-max expert per layer.
        class_logits (Tensor, optional): (B, N) degradation-class logits of
            a classifier router; None for the spherical router. Last and
            defaulted, so four-field positional construction still works.
    """
    embeddings: Tensor
    logits: Tensor
    probs: Tensor
    indices: Tensor
    class_logits: Optional[Tensor] = None


def expert_counts(indices: Tensor, num_experts: int) -> Tensor:
    """(K, C) float histogram of the experts in (N, K) long indices: how
    many of the N rows each layer sends to each expert."""
    return F.one_hot(indices.detach(), num_experts).sum(0).float()


def normalized_entropy(counts: Tensor) -> Tensor:
    """Entropy of each row of a histogram divided by log(#bins), in [0, 1]."""
    num_bins = counts.shape[-1]
    if num_bins < 2:
        return counts.new_ones(counts.shape[:-1])
    p = counts / counts.sum(-1, keepdim=True).clamp(min=1)
    ent = -(p * p.clamp(min=1e-12).log()).sum(-1)
    return ent / math.log(num_bins)


class BaseRouter(BaseModule, metaclass=ABCMeta):
    """What ``SLERRestorer`` relies on in a router, and what routers share:
    freezing and the assignment statistics of the training log.

    The frozen flag is a buffer, so a stage-2 checkpoint loads frozen (its
    parameters included). Subclasses set ``in_channels``, ``num_layers``
    and ``num_experts`` and implement :meth:`forward`; the restorer routes
    through :meth:`route`, which records the statistics of the training
    log (:meth:`routing_stats`), each written in one place:

    - ``route_*``: the experts of the routes of the last training forward
      (written by :meth:`route` in training mode only, so evaluation,
      diagnostics and inference never change them);
    - ``center_*``: the nearest centers of the embeddings of the last
      center update, under the updated centers (written by a router with
      centers, :class:`SphericalRouter`, in its update; reported until the
      router is frozen).

    They declare what the losses can read from their
    :class:`RoutingResult`:

    - ``classifies``: ``class_logits`` are degradation-class logits (the
      classification loss L_cls needs them);
    - ``has_spherical_embeddings``: ``embeddings`` are unit routing vectors
      on the sphere (the hyperspherical contrastive loss L_HC needs them).
    """

    #: Gives degradation-class logits (``RoutingResult.class_logits``).
    classifies: bool = False
    #: Gives spherical routing embeddings (``RoutingResult.embeddings``).
    has_spherical_embeddings: bool = False

    def __init__(self, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.register_buffer('is_frozen', torch.zeros((), dtype=torch.bool))
        # (K, C) expert histograms behind the logged balances, one writer
        # each: route() in training mode; the center update.
        self._route_counts: Optional[Tensor] = None
        self._center_counts: Optional[Tensor] = None

    @property
    def frozen(self) -> bool:
        """Whether the router is frozen (stage 2)."""
        return bool(self.is_frozen)

    def freeze(self) -> None:
        """Stage 2: no more gradients (nor, for centers, updates)."""
        self.is_frozen.fill_(True)
        self._apply_frozen()

    def _apply_frozen(self) -> None:
        for param in self.parameters():
            param.requires_grad_(False)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
        # A stage-2 checkpoint must come back frozen, parameters included.
        if self.frozen:
            self._apply_frozen()

    @abstractmethod
    def forward(self, feat: Tensor) -> RoutingResult:
        """Route a batch of (B, in_channels) degradation features."""

    def route(self, feat: Tensor, num_tiles: int = 1) -> RoutingResult:
        """The route of each image: :meth:`forward`, then
        :meth:`aggregate_tiles`; in training mode, its experts are the
        ``route_*`` statistics of the log.

        Args:
            feat (Tensor): (B * T, in_channels) degradation features of T
                tiles per image, image-major (T = 1: whole images).
            num_tiles (int): Tiles T per image. Default: 1.

        Returns:
            RoutingResult: Routes of the B images.
        """
        routed = self.aggregate_tiles(self(feat), num_tiles)
        if self.training:
            self._route_counts = expert_counts(routed.indices,
                                               self.num_experts)
        return routed

    @torch.no_grad()
    def routing_stats(self) -> Dict[str, Tensor]:
        """Statistics for the training log, as 0-dim float tensors: the
        :meth:`assignment_stats`."""
        return self.assignment_stats(self.is_frozen.device)

    def update_centers(self, embeddings: Tensor) -> None:
        """No-op unless the router has centers to cluster."""

    def aggregate_tiles(self, routed: RoutingResult,
                        num_tiles: int) -> RoutingResult:
        """One route per image from the routes of its tiles.

        An image routed on several views of the training patch's scale
        (``SLERRestorer(route_tile_size=...)``) takes, at every layer, the
        expert with the highest mean probability over its tiles; its
        embedding is the normalised mean of the tiles' embeddings.

        Args:
            routed (RoutingResult): Routes of B * T tiles, image-major.
            num_tiles (int): Tiles T per image.

        Returns:
            RoutingResult: Routes of the B images.
        """
        if num_tiles == 1:
            return routed

        def mean(x: Tensor) -> Tensor:
            return x.view(-1, num_tiles, *x.shape[1:]).mean(1)

        probs = mean(routed.probs)
        logits = probs.clamp(min=torch.finfo(probs.dtype).tiny).log()
        class_logits = None if routed.class_logits is None else mean(
            routed.class_logits)
        return RoutingResult(
            F.normalize(mean(routed.embeddings), dim=-1), logits, probs,
            probs.argmax(-1), class_logits)

    @torch.no_grad()
    def assignment_stats(self, device: torch.device) -> Dict[str, Tensor]:
        """Balance of the recorded expert histograms, as 0-dim float
        tensors on ``device``, for each of ``route`` (the last training
        forward's routes) and ``center`` (the last center update's nearest
        centers; left out once frozen), where recorded:
        ``<kind>_balance`` (normalised entropy of a layer's histogram, 1 =
        even, 0 = one expert takes the batch; mean over layers),
        ``<kind>_min_layer_balance`` (its minimum over layers) and
        ``<kind>_max_share`` (largest share of the batch one expert took
        at a layer; mean over layers)."""
        recorded = [('route', self._route_counts)]
        if not self.frozen:
            recorded.append(('center', self._center_counts))
        stats = {}
        for kind, counts in recorded:
            if counts is None:
                continue
            counts = counts.to(device)
            share = counts / counts.sum(-1, keepdim=True).clamp(min=1)
            balance = normalized_entropy(counts)
            stats.update({
                f'{kind}_balance': balance.mean(),
                f'{kind}_min_layer_balance': balance.amin(),
                f'{kind}_max_share': share.amax(-1).mean()
            })
        return stats
