"""Hyperspherical contrastive loss of SLER-IR (paper Eq. 8-9)."""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmagic.registry import MODELS

__all__ = ['HypersphericalContrastiveLoss']

MODES = ('class_pairs', 'batch_mean')


@MODELS.register_module()
class HypersphericalContrastiveLoss(nn.Module):
    """Triplet-constrained contrastive loss on unit routing vectors.

    For each layer l, ``S_ijl = f_il . f_jl`` over pairs i != j of the batch;
    positives are pairs with the same degradation label, negatives pairs
    with different labels, and Eq. 9 hinges the mean negative against the
    mean positive similarity: ``max(mean_neg S - mean_pos S + margin, 0)``.

    ``mode`` says over which pairs the two means are taken:

    - ``'class_pairs'`` (default): Eq. 9 on the sub-batch of every two
      classes a, b present in the batch (negatives: the a-b pairs;
      positives: the a-a and b-b pairs), averaged over the class pairs that
      have a positive pair. Merging any two classes costs ``margin``, so
      the loss keeps every class apart from every other one, the paper's
      "well-separated across classes".
    - ``'batch_mean'``: Eq. 9 read literally, one hinge on the means over
      the whole batch. With one class far from the others and the rest
      merged, the batch-wide negative mean is already low enough, so the
      loss is 0 and gives no reason to split the merged classes (measured:
      the router then served 5 tasks with 2 paths). Kept for the ablation.

    The loss is the mean over layers (and class pairs) times
    ``loss_weight``. A batch without a positive pair or without a negative
    pair gives 0 (no NaN). With two classes both modes are equal.

    Args:
        margin (float): Margin lambda between the mean negative and mean
            positive cosine, >= 0. Default: 0.5.
        loss_weight (float): Weight of the loss (alpha). Default: 1.0.
        mode (str): ``'class_pairs'`` or ``'batch_mean'``, see above.
            Default: 'class_pairs'.
    """

    def __init__(self,
                 margin: float = 0.5,
                 loss_weight: float = 1.0,
                 mode: str = 'class_pairs') -> None:
        super().__init__()
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) \
                or margin < 0:
            raise ValueError(f'margin must be a number >= 0, got {margin!r}')
        if isinstance(loss_weight, bool) \
                or not isinstance(loss_weight, (int, float)):
            raise ValueError(
                f'loss_weight must be a number, got {loss_weight!r}')
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        self.margin = float(margin)
        self.loss_weight = float(loss_weight)
        self.mode = mode

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
        off_diag = ~torch.eye(batch, dtype=torch.bool,
                              device=embeddings.device)
        # (K, B, B) cosines with the self-pairs zeroed.
        sim = torch.einsum('ikd,jkd->kij', embeddings, embeddings) * off_diag
        if self.mode == 'batch_mean':
            per_layer, valid = self._batch_mean(sim, labels, off_diag)
        else:
            per_layer, valid = self._class_pairs(sim, labels)
        return self.loss_weight * per_layer * valid

    def _batch_mean(self, sim: Tensor, labels: Tensor,
                    off_diag: Tensor) -> tuple:
        same = labels.view(-1, 1) == labels.view(1, -1)
        pos = (same & off_diag).to(sim.dtype)
        neg = (~same).to(sim.dtype)
        num_pos, num_neg = pos.sum(), neg.sum()
        # Clamped counts and a validity factor instead of an early return:
        # no host sync, and an empty side still yields a 0 with a graph.
        mean_pos = (sim * pos).sum((1, 2)) / num_pos.clamp(min=1)
        mean_neg = (sim * neg).sum((1, 2)) / num_neg.clamp(min=1)
        hinge = (mean_neg - mean_pos + self.margin).clamp(min=0)
        valid = ((num_pos > 0) & (num_neg > 0)).to(sim.dtype)
        return hinge.mean(), valid

    def _class_pairs(self, sim: Tensor, labels: Tensor) -> tuple:
        # One-hot over the classes present: sums of S over the pairs of
        # each two classes in one matrix product, no loop over classes.
        _, inverse = torch.unique(labels, return_inverse=True)
        onehot = F.one_hot(inverse).to(sim.dtype)  # (B, M)
        sums = onehot.t() @ sim @ onehot  # (K, M, M)
        sizes = onehot.sum(0)  # (M,)
        pos_sum = sums.diagonal(dim1=1, dim2=2)  # (K, M)
        pos_cnt = sizes * (sizes - 1)  # ordered positive pairs per class
        # Pair (a, b): negatives S_ab over n_a n_b, positives the a-a and
        # b-b pairs together (Eq. 9 on the two-class sub-batch).
        neg_mean = sums / (sizes[:, None] * sizes[None, :])
        pair_pos_cnt = pos_cnt[:, None] + pos_cnt[None, :]
        pair_pos_mean = (pos_sum[:, :, None] + pos_sum[:, None, :]) / \
            pair_pos_cnt.clamp(min=1)
        hinge = (neg_mean - pair_pos_mean + self.margin).clamp(min=0)
        num = sizes.numel()
        upper = torch.ones(num, num, dtype=torch.bool,
                           device=sim.device).triu(1)
        pairs = (upper & (pair_pos_cnt > 0)).to(sim.dtype)  # (M, M)
        num_pairs = pairs.sum()
        per_layer = (hinge * pairs).sum((1, 2)) / num_pairs.clamp(min=1)
        return per_layer.mean(), (num_pairs > 0).to(sim.dtype)

    def extra_repr(self) -> str:
        return (f'margin={self.margin}, loss_weight={self.loss_weight}, '
                f'mode={self.mode!r}')
