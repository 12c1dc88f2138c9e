"""SLERRestorer with ClassifierRouter (the paper's Table 3 baselines)."""
import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper

from sler_ir_mm.models.routers import ClassifierRouter

TINY_NET = dict(
    type='SLERNet',
    dim=8,
    num_blocks=(1, 1, 1, 1),
    num_refinement_blocks=1,
    heads=(1, 1, 2, 2),
    num_experts=3)
CLS_LOSS = dict(type='DegradationClassificationLoss', loss_weight=1.0)


def tiny_restorer(**kwargs):
    cfg = dict(
        type='SLERRestorer',
        generator=TINY_NET,
        router=dict(type='ClassifierRouter', num_classes=5),
        degradation_encoder=dict(
            type='ConvDegradationEncoder', channels=(8, 16), embed_dim=32),
        pixel_loss=dict(type='L1Loss', loss_weight=1.0),
        contrastive_loss=None,
        classification_loss=CLS_LOSS,
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0., 0., 0.],
            std=[255., 255., 255.]))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(labels, size=16):
    torch.manual_seed(0)
    inputs = torch.rand(len(labels), 3, size, size)
    samples = DataSample()
    samples.set_tensor_data(dict(gt_img=torch.rand(len(labels), 3, size,
                                                   size)))
    samples.set_metainfo(dict(degradation_label=list(labels)))
    return inputs, samples


def grads(module):
    return [p.grad for p in module.parameters()]


def test_router_sizes_are_filled_in_and_num_classes_kept():
    model = tiny_restorer()
    router = model.router
    assert isinstance(router, ClassifierRouter)
    assert (router.in_channels, router.num_layers, router.num_experts,
            router.num_classes) == (32, 8, 3, 5)
    assert router.expert_map.shape == (8, 5)
    with pytest.raises(ValueError, match='router.num_layers'):
        tiny_restorer(
            router=dict(type='ClassifierRouter', num_classes=5,
                        num_layers=4))


def test_stage1_l1_only_trains_the_head():
    torch.manual_seed(0)
    model = tiny_restorer(classification_loss=None)
    model.train()
    inputs, samples = batch([0, 1, 2])
    del samples.degradation_label  # L1 alone needs no labels
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_pix', 'router_route_balance',
                           'router_route_min_layer_balance',
                           'router_route_max_share'}
    losses['loss_pix'].backward()
    # Soft routing sums class probabilities: L1 reaches the classifier
    # head and the encoder behind it.
    assert all(g is not None and g.abs().sum() > 0
               for g in grads(model.router))
    assert model.degradation_encoder.cls_proj.weight.grad.abs().sum() > 0


def test_stage1_with_classification_loss():
    torch.manual_seed(0)
    model = tiny_restorer()
    model.train()
    labels = [0, 4, 2, 2]
    inputs, samples = batch(labels)
    losses = model(inputs, samples, mode='loss')
    assert {'loss_pix', 'loss_cls', 'router_route_balance',
            'router_route_min_layer_balance',
            'router_route_max_share'} == set(losses)
    assert 'loss_hc' not in losses
    logits = model.route(inputs).class_logits
    expected = F.cross_entropy(logits, torch.tensor(labels))
    assert torch.allclose(losses['loss_cls'], expected, atol=1e-6)
    # L_cls alone trains the routing path, not the backbone.
    losses['loss_cls'].backward()
    assert all(g is not None and g.abs().sum() > 0
               for g in grads(model.router))
    assert all(g is None for g in grads(model.generator))


def test_classification_labels_must_be_integer_class_ids():
    model = tiny_restorer()
    inputs, samples = batch(['derain', 'dehaze'])
    with pytest.raises(ValueError, match='TASK_LABELS'):
        model(inputs, samples, mode='loss')
    inputs, samples = batch([0, 5])
    with pytest.raises(ValueError, match='num_classes=5'):
        model(inputs, samples, mode='loss')
    inputs, samples = batch([0, 1])
    del samples.degradation_label
    with pytest.raises(KeyError, match='classification_loss=None'):
        model(inputs, samples, mode='loss')
    inputs, samples = batch([0, 1])
    samples.set_metainfo(dict(degradation_label=torch.tensor([0, 3])))
    assert model(inputs, samples, mode='loss')['loss_cls'] > 0


def test_build_time_errors():
    with pytest.raises(ValueError, match='num_classes'):
        tiny_restorer(
            router=dict(type='SphericalRouter', embed_dim=16))
    with pytest.raises(ValueError, match='contrastive_loss=None'):
        tiny_restorer(
            contrastive_loss=dict(type='HypersphericalContrastiveLoss'))
    with pytest.raises(ValueError, match='contrastive_loss=None'):
        tiny_restorer(
            classification_loss=None,
            contrastive_loss=dict(type='HypersphericalContrastiveLoss'))


def test_stage2_freezes_the_classifier_and_routes_hard():
    torch.manual_seed(0)
    model = tiny_restorer()
    model.train()
    model.enter_stage2()
    assert model.stage == 2 and model.router.frozen
    inputs, samples = batch([0, 0, 1, 1])
    losses = model(inputs, samples, mode='loss')
    assert losses['loss_cls'] == 0 and not losses['loss_cls'].requires_grad
    losses['loss_pix'].backward()
    assert all(g is None for g in grads(model.router))
    assert all(g is None for g in grads(model.degradation_encoder))
    with torch.no_grad():
        routed = model.route(inputs)
        table = model.router.expert_map
        assert torch.equal(routed.indices,
                           table[:, routed.class_logits.argmax(-1)].t())
        expected = model.generator(inputs, routed.indices)
        assert torch.allclose(model.forward_tensor(inputs), expected)


def test_optimizer_step_in_both_stages():
    model = tiny_restorer()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    labels = [0, 3, 1, 1]
    inputs, samples = batch(labels)
    data = dict(inputs=inputs * 255, data_samples=[
        DataSample(gt_img=samples.gt_img[i] * 255,
                   metainfo=dict(degradation_label=label))
        for i, label in enumerate(labels)
    ])
    log1 = model.train_step(data, wrapper)
    model.enter_stage2()
    head = [p.clone() for p in model.router.parameters()]
    log2 = model.train_step(data, wrapper)
    assert torch.isfinite(log1['loss']) and torch.isfinite(log2['loss'])
    assert log1['loss_cls'] > 0 and log2['loss_cls'] == 0
    assert all(torch.equal(a, b)
               for a, b in zip(head, model.router.parameters()))


def test_frozen_classifier_survives_a_checkpoint():
    model = tiny_restorer()
    model.enter_stage2()
    state = model.state_dict()
    assert 'router.is_frozen' in state and 'router.expert_map' in state
    fresh = tiny_restorer()
    assert fresh.stage == 1 and not fresh.router.frozen
    fresh.load_state_dict(state)
    assert fresh.stage == 2 and fresh.router.frozen
    assert not any(p.requires_grad for p in fresh.router.parameters())
    assert torch.equal(fresh.router.expert_map, model.router.expert_map)


def test_predict_gives_the_class_route():
    model = tiny_restorer().eval()
    inputs = torch.rand(2, 3, 13, 21)
    with torch.no_grad():
        outputs = model(inputs, mode='predict')
        routed = model.route(inputs)
    for i, out in enumerate(outputs):
        assert out.output.pred_img.shape == (3, 13, 21)
        assert torch.equal(out.output.route, routed.indices[i])
