"""Hyperspherical contrastive loss of SLER-IR (paper Eq. 8-9)."""
from typing import Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmagic.registry import MODELS

__all__ = ['HypersphericalContrastiveLoss']


@MODELS.register_module()
class HypersphericalContrastiveLoss(nn.Module):
    """Triplet-constrained contrastive loss on unit routing vectors.

    For each layer l, ``S_ijl = f_il . f_jl`` over pairs i != j of the batch;
    positives are pairs with the same degradation label, negatives pairs
    with different labels, and
    ``L_l = max(mean_neg S - mean_pos S + margin, 0)``. The loss is the mean
    of ``L_l`` over the layers times ``loss_weight``. A batch without a
    positive pair or without a negative pair gives 0 (no NaN).

    Args:
        margin (float): Margin lambda between the mean negative and mean
            positive cosine, >= 0. Default: 0.5.
        loss_weight (float): Weight of the loss (alpha). Default: 1.0.
    """

    def __init__(self, margin: float = 0.5, loss_weight: float = 1.0) -> None:
        super().__init__()
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) \
                or margin < 0:
            raise ValueError(f'margin must be a number >= 0, got {margin!r}')
        if isinstance(loss_weight, bool) \
                or not isinstance(loss_weight, (int, float)):
            raise ValueError(
                f'loss_weight must be a number, got {loss_weight!r}')
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)

    def forward(self, embeddings: Tensor,
                labels: Union[Tensor, Sequence[int]]) -> Tensor:
        """Forward function.

        Args:
            embeddings (Tensor): (B, K, d) L2-normalised routing vectors, or
                (B, d) for a single layer.
            labels (Tensor | Sequence[int]): (B,) integer degradation labels.

        Returns:
            Tensor: Scalar loss.
        """
        if embeddings.dim() == 2:
            embeddings = embeddings.unsqueeze(1)
        if embeddings.dim() != 3:
            raise ValueError('embeddings must have shape (B, K, d) or (B, d),'
                             f' got {tuple(embeddings.shape)}')
        labels = torch.as_tensor(labels, device=embeddings.device)
        if labels.dim() != 1 or labels.numel() != embeddings.shape[0]:
            raise ValueError(
                f'labels must have shape ({embeddings.shape[0]},) to match '
                f'embeddings {tuple(embeddings.shape)}, '
                f'got {tuple(labels.shape)}')
        if labels.is_floating_point() or labels.is_complex():
            raise ValueError(
                f'labels must be integers, got dtype {labels.dtype}')

        batch = embeddings.shape[0]
        sim = torch.einsum('ikd,jkd->kij', embeddings, embeddings)
        same = labels.view(-1, 1) == labels.view(1, -1)
        off_diag = ~torch.eye(batch, dtype=torch.bool, device=same.device)
        pos = (same & off_diag).to(sim.dtype)
        neg = (~same).to(sim.dtype)
        num_pos, num_neg = pos.sum(), neg.sum()
        # Clamped counts and a validity factor instead of an early return:
        # no host sync, and an empty side still yields a 0 with a graph.
        mean_pos = (sim * pos).sum((1, 2)) / num_pos.clamp(min=1)
        mean_neg = (sim * neg).sum((1, 2)) / num_neg.clamp(min=1)
        per_layer = (mean_neg - mean_pos + self.margin).clamp(min=0)
        valid = ((num_pos > 0) & (num_neg > 0)).to(sim.dtype)
        return self.loss_weight * per_layer.mean() * valid

    def extra_repr(self) -> str:
        return f'margin={self.margin}, loss_weight={self.loss_weight}'
