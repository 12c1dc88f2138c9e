"""Degradation classification loss (L_cls of the paper's Table 3)."""
import numbers
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmagic.registry import MODELS

__all__ = ['DegradationClassificationLoss']


@MODELS.register_module()
class DegradationClassificationLoss(nn.Module):
    """Cross-entropy of degradation-class logits against task labels.

    Supervises the head of ``ClassifierRouter`` with each training image's
    degradation class (e.g. ``sler_ir_mm.datasets.layouts.TASK_LABELS``),
    the "L1 + L_cls" classifier-routing baseline of the paper's Table 3.
    The mean over the batch is computed in fp32.

    Args:
        loss_weight (float): Weight of the loss. Default: 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        if isinstance(loss_weight, bool) \
                or not isinstance(loss_weight, numbers.Real):
            raise ValueError(
                f'loss_weight must be a number, got {loss_weight!r}')
        self.loss_weight = float(loss_weight)

    def forward(self, logits: Tensor,
                labels: Union[Tensor, Sequence[int]]) -> Tensor:
        """Forward function.

        Args:
            logits (Tensor): (B, N) class logits.
            labels (Tensor | Sequence[int]): (B,) integer class ids in
                [0, N).

        Returns:
            Tensor: Scalar loss.
        """
        if logits.dim() != 2 or not logits.is_floating_point():
            raise ValueError('logits must be a float tensor of shape (B, N),'
                             f' got {tuple(logits.shape)} {logits.dtype}')
        labels = torch.as_tensor(labels)
        if labels.dim() != 1 or labels.numel() != logits.shape[0]:
            raise ValueError(
                f'labels must have shape ({logits.shape[0]},) to match '
                f'logits {tuple(logits.shape)}, got {tuple(labels.shape)}')
        if labels.dtype == torch.bool or labels.is_floating_point() \
                or labels.is_complex():
            raise ValueError(
                f'labels must be integers, got dtype {labels.dtype}')
        num_classes = logits.shape[1]
        # cross_entropy's own out-of-range error is a device assert on GPU;
        # an explicit check names the cause.
        if labels.numel() and (int(labels.min()) < 0
                               or int(labels.max()) >= num_classes):
            raise ValueError(
                f'labels must be class ids in [0, {num_classes}) '
                f'(num_classes={num_classes}), got '
                f'{labels.tolist()}')
        loss = F.cross_entropy(logits.float(),
                               labels.to(logits.device, torch.long))
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
