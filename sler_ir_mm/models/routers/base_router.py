"""What every SLER-IR router shares: its output, freezing and the
assignment statistics of the training log."""
import math
from typing import Dict, NamedTuple, Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor

__all__ = ['BaseRouter', 'RoutingResult']


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


def normalized_entropy(counts: Tensor) -> Tensor:
    """Entropy of each row of a histogram divided by log(#bins), in [0, 1]."""
    num_bins = counts.shape[-1]
    if num_bins < 2:
        return counts.new_ones(counts.shape[:-1])
    p = counts / counts.sum(-1, keepdim=True).clamp(min=1)
    ent = -(p * p.clamp(min=1e-12).log()).sum(-1)
    return ent / math.log(num_bins)


class BaseRouter(BaseModule):
    """Freezing and assignment statistics shared by the routers.

    The frozen flag is a buffer, so a stage-2 checkpoint loads frozen (its
    parameters included). Subclasses set ``num_experts``, record the hard
    assignment histogram in ``_last_counts`` ((groups, C)) and call
    :meth:`assignment_stats` from their ``routing_stats``.
    """

    def __init__(self, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.register_buffer('is_frozen', torch.zeros((), dtype=torch.bool))
        # Hard-assignment histogram behind the logged balance.
        self._last_counts: Optional[Tensor] = None

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

    def update_centers(self, embeddings: Tensor) -> None:
        """No-op unless the router has centers to cluster."""

    @torch.no_grad()
    def assignment_stats(self, device: torch.device) -> Dict[str, Tensor]:
        """``assignment_balance`` (normalised entropy of the last hard
        assignment histogram, 1 = even; mean over groups) and
        ``max_assignment_share`` (largest share of rows one expert took;
        mean over groups), as 0-dim float tensors on ``device``."""
        counts = self._last_counts
        if counts is None:
            return dict(
                assignment_balance=torch.tensor(1.0, device=device),
                max_assignment_share=torch.tensor(
                    1.0 / self.num_experts, device=device))
        counts = counts.to(device)
        share = counts / counts.sum(-1, keepdim=True).clamp(min=1)
        return dict(
            assignment_balance=normalized_entropy(counts).mean(),
            max_assignment_share=share.amax(-1).mean())
