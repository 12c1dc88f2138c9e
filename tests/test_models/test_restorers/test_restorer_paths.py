"""SLERRestorer options users set that had no test of their own (issue 16):
``test_cfg=dict(routing=...)`` (soft routing at inference), a model built
with ``stage=2``, and ``pad_multiple`` other than 8."""
import math

import pytest
import torch
from test_sler_restorer import batch, tiny_restorer

# tau = 1: the softmax of cosines is far from one-hot, so soft and hard
# routing give different outputs.
SOFT_ROUTER = dict(type='SphericalRouter', embed_dim=16, temperature=1.0)


class GeneratorSpy:
    """What the restorer hands the backbone: the (padded) input and the
    routing, through a forward pre-hook on ``model.generator``."""

    def __init__(self, model):
        self.calls = []
        self.handle = model.generator.register_forward_pre_hook(
            lambda module, args: self.calls.append(
                (args[0].detach().clone(), args[1].detach().clone())))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def routed_outputs(model, inputs):
    """The backbone's output along the soft and along the hard route."""
    with torch.no_grad():
        routed = model.route(inputs)
        soft = model.generator(inputs, routed.probs)
        hard = model.generator(inputs, routed.indices)
    return routed, soft, hard


# ----------------------------------------------------------- soft routing
@pytest.mark.parametrize('stage', [1, 2])
@pytest.mark.parametrize('routing, soft_in_stage',
                         [('soft', {1: True, 2: True}),
                          ('hard', {1: False, 2: False}),
                          ('auto', {1: True, 2: False})])
def test_test_cfg_routing_decides_what_reaches_the_backbone(
        routing, soft_in_stage, stage):
    torch.manual_seed(0)
    model = tiny_restorer(router=SOFT_ROUTER,
                          test_cfg=dict(routing=routing)).eval()
    if stage == 2:
        model.enter_stage2()
    inputs = torch.rand(2, 3, 16, 16)
    routed, soft, hard = routed_outputs(model, inputs)
    # The probabilities are far from one-hot, so the two routings differ.
    assert routed.probs.max().item() < 0.9
    assert not torch.allclose(soft, hard, atol=1e-4)
    with GeneratorSpy(model) as spy, torch.no_grad():
        out = model(inputs, mode='tensor')
        predicted = model(inputs, mode='predict')
    assert len(spy.calls) == 2  # one backbone run per call
    want_soft = soft_in_stage[stage]
    for _, route in spy.calls:
        if want_soft:
            assert route.is_floating_point()
            assert torch.allclose(route, routed.probs)
        else:
            assert not route.is_floating_point()
            assert torch.equal(route, routed.indices)
    assert torch.allclose(out, soft if want_soft else hard, atol=1e-6)
    assert torch.allclose(
        torch.stack([p.output.pred_img for p in predicted]),
        ((soft if want_soft else hard) * 255).clamp(0, 255),
        atol=1e-3)
    # The reported route is the arg-max route either way.
    for p, indices in zip(predicted, routed.indices):
        assert torch.equal(p.output.route, indices)


def test_soft_routing_mixes_the_experts_by_their_probabilities():
    """Layer 0 of the backbone under soft routing is the probability-
    weighted sum of its experts' outputs, computed here by hand."""
    torch.manual_seed(0)
    model = tiny_restorer(router=SOFT_ROUTER,
                          test_cfg=dict(routing='soft')).eval()
    model.enter_stage2()  # soft routing even in stage 2
    inputs = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        probs = model.route(inputs).probs
    net = model.generator
    layer0 = {}

    def capture(layer, feat):
        layer0.setdefault(layer, feat)
        return feat

    with torch.no_grad():
        out = net(inputs, probs, feature_hook=capture)
        x = net.patch_embed(inputs)
        by_hand = sum(probs[:, 0, j].view(-1, 1, 1, 1) * expert(x)
                      for j, expert in enumerate(net.encoder_level1.experts))
        assert torch.allclose(model.forward_tensor(inputs), out, atol=1e-6)
    assert torch.allclose(layer0[0], by_hand, atol=1e-5)
    # Not what any single expert gives.
    with torch.no_grad():
        singles = [e(x) for e in net.encoder_level1.experts]
    assert all(not torch.allclose(layer0[0], y, atol=1e-4) for y in singles)


# ------------------------------------------------------- stage=2 constructor
def test_a_model_built_in_stage2_routes_hard_at_inference():
    torch.manual_seed(0)
    model = tiny_restorer(router=SOFT_ROUTER, stage=2).eval()
    assert model.stage == 2 and int(model._stage) == 2
    assert not model._soft_at_test()
    inputs = torch.rand(2, 3, 16, 16)
    routed, soft, hard = routed_outputs(model, inputs)
    with GeneratorSpy(model) as spy, torch.no_grad():
        out = model.forward_tensor(inputs)
    assert torch.equal(spy.calls[0][1], routed.indices)
    assert torch.allclose(out, hard, atol=1e-6)
    assert not torch.allclose(out, soft, atol=1e-4)
    # Its checkpoint loads as stage 2 into a model built in stage 1.
    fresh = tiny_restorer(router=SOFT_ROUTER)
    fresh.load_state_dict(model.state_dict())
    assert fresh.stage == 2


def test_a_model_built_in_stage2_trains_only_the_backbone():
    torch.manual_seed(0)
    model = tiny_restorer(stage=2)
    model.train()
    centers = model.router.centers.clone()
    routing_params = {
        name: p.detach().clone()
        for name, p in model.named_parameters()
        if name.startswith(('router.', 'degradation_encoder.'))
    }
    inputs, samples = batch([0, 0, 1, 1])
    losses = model(inputs, samples, mode='loss')
    # From the first training step on, the routing path is frozen: no
    # contrastive loss, no center update, no gradient.
    assert losses['loss_hc'] == 0
    losses['loss_pix'].backward()
    assert model.router.frozen
    assert torch.equal(model.router.centers, centers)
    for name, p in model.named_parameters():
        if name in routing_params:
            assert not p.requires_grad and p.grad is None, name
    assert any(p.grad is not None for p in model.generator.parameters())
    # An optimizer step leaves the routing path as it was.
    opt = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2)
    opt.step()
    for name, p in model.named_parameters():
        if name in routing_params:
            assert torch.equal(p, routing_params[name]), name


def test_a_model_built_in_stage2_is_frozen_from_the_start():
    model = tiny_restorer(stage=2)
    assert model.router.frozen
    assert not any(p.requires_grad for p in model.router.parameters())
    assert not any(p.requires_grad
                   for p in model.degradation_encoder.parameters())


# ------------------------------------------------------------- pad_multiple
# SLERNet pads its input to a multiple of 8 once more, by reflection where
# the side allows it; a side the restorer padded to 4 is replicated.
@pytest.mark.parametrize('multiple, size', [
    (4, (17, 19)),
    (4, (13, 8)),
    (16, (17, 19)),
    (16, (13, 8)),
    (16, (5, 3)),
    (16, (1, 1)),
    (4, (5, 3)),
    (4, (1, 1)),
])
def test_pad_multiple_pads_to_that_multiple_and_crops_back(multiple, size):
    torch.manual_seed(0)
    model = tiny_restorer(pad_multiple=multiple).eval()
    assert model.pad_multiple == multiple
    inputs = torch.rand(2, 3, *size)
    with GeneratorSpy(model) as spy, torch.no_grad():
        out = model(inputs, mode='tensor')
        predicted = model(inputs, mode='predict')
    assert out.shape == inputs.shape
    for p in predicted:
        assert p.output.pred_img.shape == (3, *size)
    padded_size = tuple(math.ceil(s / multiple) * multiple for s in size)
    assert len(spy.calls) == 2
    for padded, _ in spy.calls:
        assert tuple(padded.shape[-2:]) == padded_size
        assert all(s % multiple == 0 for s in padded.shape[-2:])
        # Padded at the bottom and right: the image itself is untouched.
        h, w = size
        assert torch.equal(padded[..., :h, :w], inputs)
    # The output is the backbone's output on the padded image, cropped.
    with torch.no_grad():
        route = model.route(inputs).probs
        full = model.generator(spy.calls[0][0], route)
    assert torch.allclose(out, full[..., :size[0], :size[1]], atol=1e-6)


def test_pad_multiple_of_4_is_not_rounded_up_to_8():
    model = tiny_restorer(pad_multiple=4).eval()
    with GeneratorSpy(model) as spy, torch.no_grad():
        model(torch.rand(1, 3, 17, 19), mode='tensor')
    assert tuple(spy.calls[0][0].shape[-2:]) == (20, 20)


def test_pad_multiple_1_hands_the_image_over_as_it_is():
    model = tiny_restorer(pad_multiple=1).eval()
    inputs = torch.rand(1, 3, 17, 19)
    with GeneratorSpy(model) as spy, torch.no_grad():
        out = model(inputs, mode='tensor')
    assert torch.equal(spy.calls[0][0], inputs)
    assert out.shape == inputs.shape


def test_pad_multiple_must_be_positive():
    with pytest.raises(ValueError, match='pad_multiple'):
        tiny_restorer(pad_multiple=0)
