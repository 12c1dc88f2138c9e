"""The degradation labels of a training batch, as the stage-1 losses need
them."""
import numbers
from typing import Dict, List

import torch
from mmagic.structures import DataSample

__all__ = ['class_labels', 'contrastive_labels', 'label_values']


def label_values(data_samples: DataSample, batch_size: int, label_key: str,
                 loss_name: str) -> List[object]:
    """The raw labels of a batch, one per sample.

    Args:
        data_samples (DataSample): The batch's stacked data samples.
        batch_size (int): Number of samples in the batch.
        label_key (str): Metainfo key of the labels.
        loss_name (str): Config key of the loss that needs them, named in
            the error when they are missing.
    """
    values = data_samples.metainfo.get(label_key, None)
    if values is None:
        raise KeyError(
            f'stage-1 training needs each sample\'s degradation label '
            f'in metainfo[{label_key!r}]; add it to the dataset '
            f"and keep it with PackInputs(meta_keys=['{label_key}'"
            f'...]), or set {loss_name}=None')
    if isinstance(values, torch.Tensor):
        values = values.flatten().tolist()
    elif not isinstance(values, (list, tuple)):
        values = [values]
    if len(values) != batch_size:
        raise ValueError(f'got {len(values)} labels in '
                         f'metainfo[{label_key!r}] for a batch of '
                         f'{batch_size}')
    return list(values)


def contrastive_labels(data_samples: DataSample, batch_size: int,
                       label_key: str) -> torch.Tensor:
    """Per-sample degradation labels as integer ids, for the contrastive
    loss.

    Labels may be ints or task names; only equality matters to the
    contrastive loss, so names are mapped to ids in order of appearance.
    """
    values = label_values(data_samples, batch_size, label_key,
                          'contrastive_loss')
    ids: Dict[object, int] = {}
    return torch.tensor([ids.setdefault(v, len(ids)) for v in values],
                        dtype=torch.long)


def class_labels(data_samples: DataSample, batch_size: int,
                 label_key: str) -> torch.Tensor:
    """Per-sample true class ids for the classification loss.

    Unlike the contrastive loss, cross-entropy needs the same id for a
    class in every batch, so task names are refused, not enumerated.
    """
    values = label_values(data_samples, batch_size, label_key,
                          'classification_loss')
    bad = [
        v for v in values
        if isinstance(v, bool) or not isinstance(v, numbers.Integral)
    ]
    if bad:
        raise ValueError(
            f'classification_loss needs integer class ids in '
            f'metainfo[{label_key!r}] (the same id for a class in '
            f'every batch, e.g. sler_ir_mm.datasets.layouts.TASK_LABELS'
            f'), got {bad[0]!r}; use integer labels')
    return torch.tensor([int(v) for v in values], dtype=torch.long)
