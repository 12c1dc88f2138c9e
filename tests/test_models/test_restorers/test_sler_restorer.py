import pytest
import torch
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper

TINY_NET = dict(
    type='SLERNet',
    dim=8,
    num_blocks=(1, 1, 1, 1),
    num_refinement_blocks=1,
    heads=(1, 1, 2, 2),
    num_experts=3)


def tiny_restorer(**kwargs):
    cfg = dict(
        type='SLERRestorer',
        generator=TINY_NET,
        router=dict(type='SphericalRouter', embed_dim=16, temperature=0.1),
        degradation_encoder=dict(
            type='ConvDegradationEncoder', channels=(8, 16), embed_dim=32),
        pixel_loss=dict(type='L1Loss', loss_weight=1.0),
        contrastive_loss=dict(
            type='HypersphericalContrastiveLoss', margin=0.5,
            loss_weight=1.0),
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


def experts_with_grad(model):
    net = model.generator
    return {(layer, e)
            for layer in range(net.num_routed_layers)
            for e in range(net.num_experts)
            if any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in net.expert_parameters(layer, e))}


def test_router_sizes_are_filled_in_and_checked():
    model = tiny_restorer()
    assert model.router.num_layers == 8
    assert model.router.num_experts == 3
    with pytest.raises(ValueError, match='router.num_experts'):
        tiny_restorer(
            router=dict(type='SphericalRouter', embed_dim=16, num_experts=2))


def test_stage1_losses_gradients_and_center_update():
    torch.manual_seed(0)
    model = tiny_restorer()
    model.train()
    centers = model.router.centers.clone()
    inputs, samples = batch(['rain', 'rain', 'noise', 'noise'])
    # Darker noise samples: the untrained router sends them to other experts
    # than the rain samples at some layers.
    inputs[2:] *= 0.2
    with torch.no_grad():  # the routes of this step, before the centers move
        route = model.route(inputs).indices
    assert (route[0] != route[2]).any()
    losses = model(inputs, samples, mode='loss')
    assert {'loss_pix', 'loss_hc', 'router_min_center_angle',
            'router_route_balance', 'router_center_balance'} <= set(losses)
    total = losses['loss_pix'] + losses['loss_hc']
    total.backward()
    assert not torch.equal(centers, model.router.centers)
    mlp_grads = [p.grad for p in model.router.parameters()]
    assert all(g is not None for g in mlp_grads)
    assert any(g.abs().sum() > 0 for g in mlp_grads)
    # The routing path learns end to end in stage 1.
    assert model.degradation_encoder.cls_proj.weight.grad.abs().sum() > 0
    # Exactly the experts some sample took learn: each sample's arg-max
    # expert, the others run without autograd.
    chosen = {(layer, int(e)) for row in route for layer, e in enumerate(row)}
    assert experts_with_grad(model) == chosen


def test_stage1_needs_labels():
    model = tiny_restorer()
    inputs, samples = batch([0, 1])
    del samples.degradation_label
    with pytest.raises(KeyError, match='degradation_label'):
        model(inputs, samples, mode='loss')


def test_stage1_without_contrastive_loss_needs_no_labels():
    model = tiny_restorer(contrastive_loss=None)
    inputs, samples = batch([0, 1])
    del samples.degradation_label
    assert 'loss_hc' not in model(inputs, samples, mode='loss')


def test_stage2_hard_routing_frozen_router():
    torch.manual_seed(0)
    model = tiny_restorer()
    model.train()
    model.enter_stage2()
    model.enter_stage2()  # idempotent
    assert model.stage == 2 and model.router.frozen
    centers = model.router.centers.clone()
    inputs, samples = batch([0, 0, 1, 1])
    losses = model(inputs, samples, mode='loss')
    assert losses['loss_hc'] == 0 and not losses['loss_hc'].requires_grad
    losses['loss_pix'].backward()
    assert torch.equal(centers, model.router.centers)
    assert all(p.grad is None for p in model.router.parameters())
    assert all(p.grad is None
               for p in model.degradation_encoder.parameters())
    route = model.route(inputs).indices
    chosen = {(layer, int(e)) for row in route for layer, e in enumerate(row)}
    assert experts_with_grad(model) == chosen


def test_optimizer_step_in_both_stages():
    model = tiny_restorer()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    labels = [0, 0, 1, 1]
    inputs, samples = batch(labels)
    data = dict(inputs=inputs * 255, data_samples=[
        DataSample(gt_img=samples.gt_img[i] * 255,
                   metainfo=dict(degradation_label=label))
        for i, label in enumerate(labels)
    ])
    log1 = model.train_step(data, wrapper)
    model.enter_stage2()
    log2 = model.train_step(data, wrapper)
    assert torch.isfinite(log1['loss']) and torch.isfinite(log2['loss'])
    assert log1['loss_hc'] > 0 and log2['loss_hc'] == 0


@pytest.mark.parametrize('size', [(16, 16), (13, 21), (3, 5), (1, 1)])
def test_predict_any_size_without_annotations(size):
    model = tiny_restorer().eval()
    inputs = torch.rand(2, 3, *size)
    with torch.no_grad():
        outputs = model(inputs, mode='predict')
    assert len(outputs) == 2
    for out in outputs:
        assert out.output.pred_img.shape == (3, *size)
        route = out.output.route
        assert route.shape == (8, ) and route.dtype == torch.long
        assert int(route.max()) < 3


def predicted(model, inputs):
    """Restored images (in [0, 1]) and routes from the public predict
    path, ``model(inputs, mode='predict')``."""
    with torch.no_grad():
        outputs = model(inputs, mode='predict')
    # The data preprocessor's std of 255 brings pred_img to 0-255.
    pred = torch.stack([out.output.pred_img for out in outputs]) / 255
    return pred, torch.stack([out.output.route for out in outputs])


@pytest.mark.parametrize('routing', ['auto', 'hard', 'soft'])
def test_predict_routing_follows_stage_and_test_cfg(routing):
    """Predict and tensor mode restore along the soft routing in stage 1
    and the hard route in stage 2 (``test_cfg.routing='auto'``), or along
    the one ``test_cfg.routing`` names in both stages."""
    torch.manual_seed(0)
    inputs = torch.rand(2, 3, 16, 16)
    weights = tiny_restorer().state_dict()
    for stage in (1, 2):
        model = tiny_restorer(test_cfg=dict(routing=routing))
        model.load_state_dict(weights)
        model.eval()
        if stage == 2:
            model.enter_stage2()
        routed = model.route(inputs)
        with torch.no_grad():
            hard = model.generator(inputs, routed.indices)
            soft = model.generator(inputs, routed.probs)
            tensor = model(inputs, mode='tensor')
        assert (hard - soft).abs().max() > 1e-4  # the two can be told apart
        use_soft = routing == 'soft' or (routing == 'auto' and stage == 1)
        expected = soft if use_soft else hard
        pred, route = predicted(model, inputs)
        assert torch.equal(route, routed.indices)
        # pred_img is clipped to the image range, the tensor is not.
        torch.testing.assert_close(pred, expected.clamp(0, 1), atol=1e-5,
                                   rtol=1e-5)
        torch.testing.assert_close(tensor, expected, atol=1e-6, rtol=1e-6)


def test_test_cfg_routing_is_checked():
    with pytest.raises(ValueError, match='test_cfg.routing'):
        tiny_restorer(test_cfg=dict(routing='sometimes'))


def test_stage_and_frozen_router_survive_a_checkpoint():
    model = tiny_restorer()
    model.enter_stage2()
    state = model.state_dict()
    fresh = tiny_restorer()
    assert fresh.stage == 1
    fresh.load_state_dict(state)
    assert fresh.stage == 2 and fresh.router.frozen
    # A stage-2 model loaded with load_from refreezes its routing path on
    # the first training step.
    fresh.train()
    for p in fresh.degradation_encoder.parameters():
        p.requires_grad_(True)
    inputs, samples = batch([0, 1])
    fresh(inputs, samples, mode='loss')
    assert not any(p.requires_grad
                   for p in fresh.degradation_encoder.parameters())


def test_training_needs_ground_truth():
    model = tiny_restorer()
    inputs, samples = batch([0, 1])
    del samples.gt_img
    with pytest.raises(ValueError, match='gt_img'):
        model(inputs, samples, mode='loss')


def test_preprocessor_must_give_unit_range_images():
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        tiny_restorer(data_preprocessor=dict(
            type='DataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3))
