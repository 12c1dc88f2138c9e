import pytest
import torch
import torch.nn.functional as F

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import MODELS
from sler_ir_mm.models.losses import HypersphericalContrastiveLoss


def reference(emb: torch.Tensor, labels, margin: float) -> float:
    """Eq. 8-9 with explicit loops, over the whole batch (batch_mean)."""
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


def reference_class_pairs(emb: torch.Tensor, labels, margin: float) -> float:
    """Eq. 9 on the sub-batch of every two classes, with explicit loops."""
    labels = list(labels)
    classes = sorted(set(labels))
    total, layers = 0.0, emb.shape[1]
    for lay in range(layers):
        hinges = []
        for ia, a in enumerate(classes):
            for b in classes[ia + 1:]:
                idx = [i for i, y in enumerate(labels) if y in (a, b)]
                sub = emb[idx, lay:lay + 1]
                sub_labels = [labels[i] for i in idx]
                pos = sum(1 for i in range(len(idx)) for j in range(len(idx))
                          if i != j and sub_labels[i] == sub_labels[j])
                if pos:
                    hinges.append(reference(sub, sub_labels, margin))
        total += sum(hinges) / len(hinges) if hinges else 0.0
    return total / layers


def test_build():
    loss = MODELS.build(
        dict(type='HypersphericalContrastiveLoss', margin=0.3,
             loss_weight=2.0))
    assert isinstance(loss, HypersphericalContrastiveLoss)
    # The config's margin and weight are the ones the loss applies, and the
    # default mode is Eq. 9 per pair of classes.
    emb = F.normalize(torch.randn(6, 2, 4,
                                  generator=torch.Generator().manual_seed(0)),
                      dim=-1)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    expected = reference_class_pairs(emb, labels.tolist(), 0.3)
    assert expected > 0
    assert reference(emb, labels.tolist(), 0.3) != pytest.approx(expected)
    assert float(loss(emb, labels)) == pytest.approx(2.0 * expected)


@pytest.mark.parametrize('mode', ['class_pairs', 'batch_mean'])
def test_hand_computed_example(mode):
    # One layer, d = 2: a, a', b with labels 0, 0, 1 (two classes: both
    # modes are Eq. 9 on the whole batch).
    emb = torch.tensor([[[1.0, 0.0]], [[0.6, 0.8]], [[0.0, 1.0]]])
    labels = torch.tensor([0, 0, 1])
    # pos: S(a, a') = 0.6; neg: S(a, b) = 0, S(a', b) = 0.8 -> mean 0.4
    loss = HypersphericalContrastiveLoss(margin=0.5, mode=mode)(emb, labels)
    assert torch.allclose(loss, torch.tensor(0.4 - 0.6 + 0.5))
    weighted = HypersphericalContrastiveLoss(
        margin=0.5, loss_weight=2.0, mode=mode)
    assert torch.allclose(weighted(emb, labels), torch.tensor(0.6))
    # The margin is clamped at 0 once negatives are far enough.
    assert HypersphericalContrastiveLoss(
        margin=0.1, mode=mode)(emb, labels) == 0


def test_merged_classes_cost_the_margin():
    # Low light (label 4) opposite the rest; noise, rain, haze and blur
    # (0-3) merged on one direction: the collapse measured on the mini
    # benchmark. The batch-mean hinge is exactly 0 there; per class pair
    # every merged pair costs the full margin.
    up, down = torch.tensor([1.0, 0.0]), torch.tensor([-1.0, 0.0])
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    emb = torch.stack([down if y == 4 else up for y in labels])[:, None]
    literal = HypersphericalContrastiveLoss(margin=0.5, mode='batch_mean')
    assert float(literal(emb, labels)) == 0.0
    pairs = HypersphericalContrastiveLoss(margin=0.5)
    # 6 merged pairs of 10 cost 0.5 each; the 4 pairs with low light 0.
    assert float(pairs(emb, labels)) == pytest.approx(6 * 0.5 / 10)
    # Spreading the classes apart brings it to 0.
    spread = F.normalize(torch.eye(5), dim=-1)[labels][:, None]
    assert float(pairs(spread, labels)) == 0.0


def test_class_pairs_matches_reference_and_backward():
    torch.manual_seed(0)
    emb = F.normalize(torch.randn(9, 3, 5), dim=-1).requires_grad_()
    labels = [0, 1, 0, 2, 1, 1, 3, 2, 4]  # class 3 and 4: one image each
    loss = HypersphericalContrastiveLoss(margin=0.5)(emb, labels)
    expected = reference_class_pairs(emb.detach(), labels, 0.5)
    assert abs(float(loss.detach()) - expected) < 1e-5
    loss.backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all()


def test_matches_reference_and_backward():
    torch.manual_seed(0)
    emb = F.normalize(torch.randn(6, 3, 5), dim=-1).requires_grad_()
    labels = [0, 1, 0, 2, 1, 1]
    loss = HypersphericalContrastiveLoss(
        margin=0.5, mode='batch_mean')(emb, labels)
    expected = reference(emb.detach(), labels, 0.5)
    assert abs(float(loss.detach()) - expected) < 1e-5
    loss.backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all()


@pytest.mark.parametrize('mode', ['class_pairs', 'batch_mean'])
@pytest.mark.parametrize('labels', [[3, 3, 3, 3], [0, 1, 2, 3], [1]])
def test_degenerate_batches_give_zero(labels, mode):
    emb = F.normalize(torch.randn(len(labels), 2, 4), dim=-1)
    emb.requires_grad_()
    loss = HypersphericalContrastiveLoss(mode=mode)(emb,
                                                    torch.tensor(labels))
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
    with pytest.raises(ValueError, match='mode'):
        HypersphericalContrastiveLoss(mode='triplets')
