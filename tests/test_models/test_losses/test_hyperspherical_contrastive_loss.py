import pytest
import torch
import torch.nn.functional as F

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import MODELS
from sler_ir_mm.models.losses import HypersphericalContrastiveLoss


def reference(emb: torch.Tensor, labels, margin: float) -> float:
    """Eq. 8-9 with explicit loops."""
    batch, layers = emb.shape[:2]
    total = 0.0
    for lay in range(layers):
        pos, neg = [], []
        for i in range(batch):
            for j in range(batch):
                if i == j:
                    continue
                s = float(emb[i, lay] @ emb[j, lay])
                (pos if labels[i] == labels[j] else neg).append(s)
        total += max(sum(neg) / len(neg) - sum(pos) / len(pos) + margin, 0)
    return total / layers


def test_build():
    loss = MODELS.build(
        dict(type='HypersphericalContrastiveLoss', margin=0.3,
             loss_weight=2.0))
    assert isinstance(loss, HypersphericalContrastiveLoss)
    assert loss.margin == 0.3 and loss.loss_weight == 2.0


def test_hand_computed_example():
    # One layer, d = 2: a, a', b with labels 0, 0, 1.
    emb = torch.tensor([[[1.0, 0.0]], [[0.6, 0.8]], [[0.0, 1.0]]])
    labels = torch.tensor([0, 0, 1])
    # pos: S(a, a') = 0.6; neg: S(a, b) = 0, S(a', b) = 0.8 -> mean 0.4
    loss = HypersphericalContrastiveLoss(margin=0.5)(emb, labels)
    assert torch.allclose(loss, torch.tensor(0.4 - 0.6 + 0.5))
    weighted = HypersphericalContrastiveLoss(margin=0.5, loss_weight=2.0)
    assert torch.allclose(weighted(emb, labels), torch.tensor(0.6))
    # The margin is clamped at 0 once negatives are far enough.
    assert HypersphericalContrastiveLoss(margin=0.1)(emb, labels) == 0


def test_matches_reference_and_backward():
    torch.manual_seed(0)
    emb = F.normalize(torch.randn(6, 3, 5), dim=-1).requires_grad_()
    labels = [0, 1, 0, 2, 1, 1]
    loss = HypersphericalContrastiveLoss(margin=0.5)(emb, labels)
    expected = reference(emb.detach(), labels, 0.5)
    assert abs(float(loss.detach()) - expected) < 1e-5
    loss.backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all()


@pytest.mark.parametrize('labels', [[3, 3, 3, 3], [0, 1, 2, 3], [1]])
def test_degenerate_batches_give_zero(labels):
    emb = F.normalize(torch.randn(len(labels), 2, 4), dim=-1)
    emb.requires_grad_()
    loss = HypersphericalContrastiveLoss()(emb, torch.tensor(labels))
    assert loss.dim() == 0 and float(loss.detach()) == 0.0
    assert not torch.isnan(loss)
    loss.backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_two_dim_input_is_one_layer():
    emb = F.normalize(torch.randn(4, 6), dim=-1)
    labels = torch.tensor([0, 0, 1, 1])
    loss = HypersphericalContrastiveLoss()
    assert torch.allclose(loss(emb, labels), loss(emb[:, None], labels))


def test_errors():
    loss = HypersphericalContrastiveLoss()
    with pytest.raises(ValueError, match='labels'):
        loss(torch.randn(3, 2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='labels'):
        loss(torch.randn(3, 2, 4), torch.tensor([[0, 1, 1]]))
    with pytest.raises(ValueError, match='integers'):
        loss(torch.randn(2, 2, 4), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match='embeddings'):
        loss(torch.randn(2, 2, 4, 1), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='margin'):
        HypersphericalContrastiveLoss(margin=-0.1)
