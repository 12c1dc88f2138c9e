"""What a router declares (BaseRouter): the restorer reads its
capabilities, not its attributes. Its statistics of the training log: each
computed in one place with one meaning, ``route_*`` from the routes of the
last training forward, ``center_*`` from the nearest centers of the last
center update."""
import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from tiny_models import NET

from sler_ir_mm.models.routers import (BaseRouter, ClassifierRouter,
                                       RoutingResult, SphericalRouter)
from sler_ir_mm.models.routers.base_router import expert_counts


class NonSphericalRouter(SphericalRouter):
    """A spherical router that says its embeddings are not spherical."""
    has_spherical_embeddings = False


class ClassifyingRouter(ClassifierRouter):
    """A classifier router under another name, without ``num_classes``
    playing any part in how the restorer recognises it."""


def restorer_cfg(router, **kwargs):
    cfg = dict(
        type='SLERRestorer',
        generator=NET,
        router=router,
        degradation_encoder=dict(
            type='ConvDegradationEncoder', channels=(8, 16), embed_dim=16),
        pixel_loss=dict(type='L1Loss'),
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3))
    cfg.update(kwargs)
    return cfg


def test_routers_declare_what_the_losses_can_read():
    assert SphericalRouter.has_spherical_embeddings
    assert not SphericalRouter.classifies
    assert ClassifierRouter.classifies
    assert not ClassifierRouter.has_spherical_embeddings
    assert not BaseRouter.classifies
    assert not BaseRouter.has_spherical_embeddings
    routed = ClassifierRouter(in_channels=4, num_classes=5)(torch.randn(2, 4))
    assert routed.class_logits.shape == (2, 5)
    assert SphericalRouter(in_channels=4)(torch.randn(2, 4)).class_logits \
        is None


def test_base_router_is_abstract():
    with pytest.raises(TypeError, match='abstract'):
        BaseRouter()


def test_restorer_reads_the_declared_capabilities():
    hc = dict(type='HypersphericalContrastiveLoss')
    cls = dict(type='DegradationClassificationLoss')
    with pytest.raises(ValueError, match='contrastive_loss=None'):
        MODELS.build(restorer_cfg(
            dict(type=NonSphericalRouter, embed_dim=8), contrastive_loss=hc))
    # Without the contrastive loss it routes as before.
    MODELS.build(restorer_cfg(dict(type=NonSphericalRouter, embed_dim=8)))
    model = MODELS.build(restorer_cfg(
        dict(type=ClassifyingRouter, num_classes=4),
        classification_loss=cls))
    assert model.router.classifies
    with pytest.raises(ValueError, match='classifies'):
        MODELS.build(restorer_cfg(
            dict(type='SphericalRouter', embed_dim=8),
            classification_loss=cls))


def test_restorer_refuses_a_router_that_is_no_base_router():

    def builder(in_channels, num_layers, num_experts):
        return torch.nn.Linear(in_channels, num_layers * num_experts)

    with pytest.raises(TypeError, match=r'model\.router must build a router'):
        MODELS.build(restorer_cfg(dict(type=builder)))


IN, K, C, D = 16, 8, 3, 8


def spherical() -> SphericalRouter:
    torch.manual_seed(0)
    return SphericalRouter(in_channels=IN, num_layers=K, num_experts=C,
                           embed_dim=D, queue_size=0)


def fixed_routes(router, indices: torch.Tensor) -> None:
    """Make the router's forward return these (B, K) experts."""
    probs = F.one_hot(indices, C).float()
    emb = F.normalize(torch.ones(indices.shape[0], K, D), dim=-1)
    router.forward = lambda feat: RoutingResult(emb, probs.log(), probs,
                                                indices)


def test_expert_counts():
    indices = torch.tensor([[0, 2], [0, 1], [0, 2]])
    assert torch.equal(expert_counts(indices, 3),
                       torch.tensor([[3., 0., 0.], [0., 1., 2.]]))


def test_route_stats_come_from_training_routes_only():
    router = spherical()
    router.train()
    # Every image on expert 0 at every layer: balance 0.
    fixed_routes(router, torch.zeros(4, K, dtype=torch.long))
    router.route(torch.randn(4, IN))
    trained = router.routing_stats()
    assert float(trained['route_balance']) == 0.0
    assert float(trained['route_max_share']) == 1.0
    # Evenly spread routes in eval mode (evaluation, diagnostics,
    # inference) and a plain forward in training mode change nothing.
    fixed_routes(router, torch.arange(3)[:, None].expand(3, K))
    router.eval()
    router.route(torch.randn(3, IN))
    router.train()
    router(torch.randn(3, IN))
    assert router.routing_stats() == trained
    # The next training route does.
    router.route(torch.randn(3, IN))
    assert float(router.routing_stats()['route_balance']) == 1.0


def test_route_stats_count_images_not_tiles():
    router = ClassifierRouter(in_channels=IN, num_layers=K, num_experts=C,
                              num_classes=C,
                              expert_map=[[0, 1, 2]] * K)
    router.train()
    feat = torch.zeros(2 * 4, IN)
    routed = router.route(feat, num_tiles=4)
    assert routed.indices.shape == (2, K)
    counts = router._route_counts
    assert counts.shape == (K, C) and float(counts.sum(-1)[0]) == 2.0


def test_center_stats_have_their_own_name_and_writer():
    router = spherical()
    router.train()
    fixed_routes(router, torch.zeros(6, K, dtype=torch.long))
    router.route(torch.randn(6, IN))
    assert not any(k.startswith('center_') for k in router.routing_stats())
    # Embeddings in three clusters at the three centers: the center update
    # spreads them evenly, while the routes stay on expert 0.
    centers = F.normalize(router.centers, dim=-1)
    emb = centers[torch.arange(6) % C][:, None].expand(6, K, D)
    router.update_centers(emb.contiguous())
    stats = router.routing_stats()
    assert float(stats['center_balance']) > 0.99
    assert float(stats['route_balance']) == 0.0
    # A training route does not overwrite the center statistics.
    router.route(torch.randn(6, IN))
    assert router.routing_stats()['center_balance'] == stats['center_balance']
    # Frozen (stage 2): no center updates, so no center statistics; the
    # routes are still counted.
    router.freeze()
    assert set(router.routing_stats()) == {
        'min_center_angle', 'route_balance', 'route_min_layer_balance',
        'route_max_share'
    }
