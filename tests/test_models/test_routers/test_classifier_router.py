import pytest
import torch
import torch.nn.functional as F

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import MODELS
from sler_ir_mm.models.routers import ClassifierRouter, RoutingResult
from sler_ir_mm.models.routers.classifier_router import default_expert_map

IN, K, C, N = 16, 4, 3, 5


def make_router(**kwargs) -> ClassifierRouter:
    cfg = dict(in_channels=IN, num_layers=K, num_experts=C, num_classes=N)
    cfg.update(kwargs)
    return ClassifierRouter(**cfg)


def test_routing_result_keeps_four_field_construction():
    t = torch.zeros(1)
    old = RoutingResult(t, t, t, t)
    assert old.class_logits is None
    emb, logits, probs, indices, class_logits = old
    assert class_logits is None


def test_build_and_forward_shapes():
    torch.manual_seed(0)
    router = MODELS.build(
        dict(type='ClassifierRouter', in_channels=IN, num_layers=K,
             num_experts=C, num_classes=N))
    assert isinstance(router, ClassifierRouter)
    out = router(torch.randn(6, IN))
    assert isinstance(out, RoutingResult)
    assert out.class_logits.shape == (6, N)
    assert out.embeddings.shape == (6, K, N)
    assert out.logits.shape == out.probs.shape == (6, K, C)
    assert out.indices.shape == (6, K) and out.indices.dtype == torch.long
    assert torch.allclose(out.probs.sum(-1), torch.ones(6, K))
    assert torch.allclose(out.logits.exp(), out.probs, atol=1e-6)
    # Embeddings: the normalised class logits, the same at every layer.
    expected = F.normalize(out.class_logits, dim=-1)
    assert torch.allclose(out.embeddings, expected[:, None].expand(-1, K, -1))
    assert {'expert_map', 'is_frozen'} <= set(router.state_dict())


def test_probs_sum_class_probs_and_hard_route_follows_argmax_class():
    torch.manual_seed(0)
    table = [[0, 0, 1, 1, 2], [2, 1, 0, 0, 0], [0, 1, 2, 0, 1],
             [1, 1, 1, 1, 1]]
    router = make_router(expert_map=table)
    out = router(torch.randn(7, IN))
    class_probs = out.class_logits.softmax(-1)
    table = torch.tensor(table)
    for k in range(K):
        for e in range(C):
            mass = class_probs[:, table[k] == e].sum(-1)
            assert torch.allclose(out.probs[:, k, e], mass, atol=1e-6)
    winners = out.class_logits.argmax(-1)
    assert torch.equal(out.indices, table[:, winners].t())
    # An expert that no class maps to gets a finite, very low logit.
    assert torch.isfinite(out.logits).all()
    assert (out.logits[:, 3, 0] < -50).all()


def test_soft_routing_is_differentiable():
    torch.manual_seed(0)
    router = make_router()
    out = router(torch.randn(4, IN))
    (out.probs * torch.randn_like(out.probs)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in router.parameters())


@pytest.mark.parametrize('num_experts', [2, 3, 4])
@pytest.mark.parametrize('num_classes', list(range(1, 8)))
def test_default_map_separates_classes_and_is_balanced(num_classes,
                                                       num_experts):
    for num_layers in range(1, 9):
        table = default_expert_map(num_layers, num_classes, num_experts)
        assert table.shape == (num_layers, num_classes)
        assert table.dtype == torch.long
        assert int(table.min()) >= 0 and int(table.max()) < num_experts
        routes = {tuple(table[:, c].tolist()) for c in range(num_classes)}
        if num_experts**num_layers >= num_classes:
            assert len(routes) == num_classes, table
        # Every layer spreads the classes evenly over the experts.
        for row in table:
            counts = torch.bincount(row, minlength=num_experts)
            assert int(counts.max() - counts.min()) <= 1
    # The default table does not depend on the global random state.
    torch.manual_seed(0)
    first = default_expert_map(8, num_classes, num_experts)
    torch.manual_seed(1)
    assert torch.equal(default_expert_map(8, num_classes, num_experts), first)


def test_default_map_follows_the_documented_rule():
    # 5 classes, 3 experts: D = 2 base-3 digits (d0, d1) = (0,0), (1,0),
    # (2,0), (0,1), (1,1); prefix sums (d0, d0 + d1) mod 3. Layer k reads
    # prefix k mod 2 shifted by k // 2.
    expected = torch.tensor([[0, 1, 2, 0, 1],
                             [0, 1, 2, 1, 2],
                             [1, 2, 0, 1, 2],
                             [1, 2, 0, 2, 0]])
    assert torch.equal(default_expert_map(4, 5, 3), expected)
    # N <= C: every class on its own expert, shifted by one per layer.
    assert torch.equal(default_expert_map(3, 3, 4),
                       torch.tensor([[0, 1, 2], [1, 2, 3], [2, 3, 0]]))


def test_default_map_single_expert_and_router_default():
    assert torch.equal(default_expert_map(3, 4, 1),
                       torch.zeros(3, 4, dtype=torch.long))
    router = make_router()
    assert torch.equal(router.expert_map, default_expert_map(K, N, C))


@pytest.mark.parametrize('table, match', [
    ([[0, 1, 2, 0, 1]] * 3, r'shape \(num_layers, num_classes\)'),
    ([[0, 1, 2, 0]] * K, r'shape'),
    ([[0, 1, 2, 0, 3]] * K, r'\[0, 3\)'),
    ([[0, -1, 2, 0, 1]] * K, r'\[0, 3\)'),
    ([[0.0, 1.0, 2.0, 0.0, 1.0]] * K, 'ints'),
    ([[0, 1], [0, 1, 2]], 'table of ints'),
])
def test_user_map_is_checked(table, match):
    with pytest.raises(ValueError, match=match):
        make_router(expert_map=table)


def test_user_map_is_used_and_copied():
    table = torch.tensor([[0, 1, 2, 0, 1]] * K)
    router = make_router(expert_map=table)
    table[0, 0] = 2
    assert int(router.expert_map[0, 0]) == 0


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_classes=0), 'num_classes'),
    (dict(num_classes=2.0), 'num_classes'),
    (dict(in_channels=True), 'in_channels'),
    (dict(hidden_channels=0), 'hidden_channels'),
    (dict(num_experts=0), 'num_experts'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_router(**kwargs)


def test_bad_feature_shape():
    with pytest.raises(ValueError, match=r'\(B, 16\)'):
        make_router()(torch.randn(2, IN + 1))


def test_routing_stats():
    router = make_router(expert_map=[[0, 1, 2, 0, 1]] * K)
    # Nothing routed in training yet: nothing to report.
    assert router.routing_stats() == {}
    # With a constant head every image is class 0: one expert per layer.
    with torch.no_grad():
        router.head[3].weight.zero_()
        router.head[3].bias.copy_(torch.tensor([1.0, 0, 0, 0, 0]))
    router.route(torch.randn(3, IN))
    stats = router.routing_stats()
    assert set(stats) == {'route_balance', 'route_min_layer_balance',
                          'route_max_share'}
    # Logged through the restorer's loss dict: tensors, never summed as loss.
    assert all(isinstance(v, torch.Tensor) and 'loss' not in k
               for k, v in stats.items())
    assert float(stats['route_balance']) == pytest.approx(0.0)
    assert float(stats['route_max_share']) == pytest.approx(1.0)
    # Classes 0, 1, 2 (one image each) take the three experts evenly.
    with torch.no_grad():
        router.head[3].weight.zero_()
        router.head[3].bias.zero_()
        router.head[3].weight[:3, :3] = 100 * torch.eye(3)
    router.head[1].weight.data = torch.eye(IN)
    router.head[1].bias.data.zero_()
    feat = torch.zeros(3, IN)
    feat[:, :3] = 10 * torch.eye(3)
    assert torch.equal(router.route(feat).class_logits.argmax(-1),
                       torch.arange(3))
    stats = router.routing_stats()
    assert float(stats['route_balance']) == pytest.approx(1.0)
    assert float(stats['route_max_share']) == pytest.approx(1 / 3)


def test_update_centers_is_a_noop():
    router = make_router()
    state = {k: v.clone() for k, v in router.state_dict().items()}
    router.update_centers(torch.randn(2, K, N))
    assert all(torch.equal(v, router.state_dict()[k])
               for k, v in state.items())


def test_freeze_and_state_dict_round_trip():
    torch.manual_seed(0)
    router = make_router()
    router.train()
    assert not router.frozen
    router.freeze()
    router.train()  # freezing must survive mode switches
    assert router.frozen
    assert all(not p.requires_grad for p in router.parameters())
    out = router(torch.randn(2, IN))
    assert not out.probs.requires_grad

    fresh = make_router(expert_map=[[0, 0, 0, 1, 1]] * K)
    assert not fresh.frozen
    fresh.load_state_dict(router.state_dict())
    assert fresh.frozen
    assert all(not p.requires_grad for p in fresh.parameters())
    # The checkpoint's table wins: test-time routes are the trained ones.
    assert torch.equal(fresh.expert_map, router.expert_map)
