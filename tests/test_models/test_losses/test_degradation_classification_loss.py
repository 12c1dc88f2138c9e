import numpy as np
import pytest
import torch
import torch.nn.functional as F

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import MODELS
from sler_ir_mm.models.losses import DegradationClassificationLoss


def test_build_and_value():
    loss = MODELS.build(
        dict(type='DegradationClassificationLoss', loss_weight=2.0))
    assert isinstance(loss, DegradationClassificationLoss)
    torch.manual_seed(0)
    logits = torch.randn(4, 5, requires_grad=True)
    labels = torch.tensor([0, 4, 2, 2])
    value = loss(logits, labels)
    assert value.dim() == 0
    assert torch.allclose(value, 2.0 * F.cross_entropy(logits, labels))
    value.backward()
    assert logits.grad.abs().sum() > 0


@pytest.mark.parametrize('labels', [[1, 0, 3], (1, 0, 3),
                                    np.array([1, 0, 3]),
                                    torch.tensor([1, 0, 3],
                                                 dtype=torch.int32)])
def test_label_containers(labels):
    logits = torch.randn(3, 4)
    expected = F.cross_entropy(logits, torch.tensor([1, 0, 3]))
    assert torch.allclose(DegradationClassificationLoss()(logits, labels),
                          expected)


def test_half_logits_give_fp32_loss():
    logits = torch.randn(2, 3).half()
    assert DegradationClassificationLoss()(logits, [0, 2]).dtype == \
        torch.float32


@pytest.mark.parametrize('labels', [[0, 5], [-1, 0]])
def test_label_out_of_range(labels):
    with pytest.raises(ValueError, match='num_classes=5'):
        DegradationClassificationLoss()(torch.randn(2, 5), labels)


@pytest.mark.parametrize('logits, labels, match', [
    (torch.randn(2, 3, 1), [0, 1], r'shape \(B, N\)'),
    (torch.zeros(2, 3, dtype=torch.long), [0, 1], r'float tensor'),
    (torch.randn(2, 3), [0, 1, 2], r'shape \(2,\)'),
    (torch.randn(2, 3), [[0, 1]], r'shape \(2,\)'),
    (torch.randn(2, 3), [0.0, 1.0], 'integers'),
    (torch.randn(2, 3), [True, False], 'integers'),
])
def test_shape_and_dtype_checks(logits, labels, match):
    with pytest.raises(ValueError, match=match):
        DegradationClassificationLoss()(logits, labels)


@pytest.mark.parametrize('weight', ['1', None, True])
def test_bad_loss_weight(weight):
    with pytest.raises(ValueError, match='loss_weight'):
        DegradationClassificationLoss(loss_weight=weight)
