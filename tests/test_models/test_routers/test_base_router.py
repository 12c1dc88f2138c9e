"""What a router declares (BaseRouter): the restorer reads its
capabilities, not its attributes."""
import pytest
import torch
from mmagic.registry import MODELS
from tiny_models import NET

from sler_ir_mm.models.routers import (BaseRouter, ClassifierRouter,
                                       SphericalRouter)


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
