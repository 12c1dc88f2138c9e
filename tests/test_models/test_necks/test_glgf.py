import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from sler_ir_mm.models.backbones import SLERNet
from sler_ir_mm.models.necks import GLGF

CLS, TOK, DEG, PRIOR = 16, 24, 16, 8
CHANNELS = (8, 16, 32, 64, 32, 16, 16, 16)


def _glgf(**kwargs) -> GLGF:
    cfg = dict(
        content_cls_dim=CLS,
        content_token_dim=TOK,
        degradation_dim=DEG,
        prior_dim=PRIOR,
        num_heads=2,
        layer_channels=CHANNELS,
        # Most tests cover the optional distance bias too; the default is
        # the paper's plain Eq. 12 (test_default_is_plain_eq12).
        position_bias=True)
    cfg.update(kwargs)
    return GLGF(**cfg)


def test_default_is_plain_eq12():
    model = GLGF(
        content_cls_dim=CLS, content_token_dim=TOK, degradation_dim=DEG,
        prior_dim=PRIOR, num_heads=2, layer_channels=CHANNELS)
    assert model.position_bias is False
    assert not hasattr(model, 'log_slopes')


def _default_glgf() -> GLGF:
    """GLGF as the configs build it: ``position_bias`` left at its default.
    """
    torch.manual_seed(0)
    return GLGF(
        content_cls_dim=CLS, content_token_dim=TOK, degradation_dim=DEG,
        prior_dim=PRIOR, num_heads=2, layer_channels=CHANNELS).eval()


def _reference_prior(model, cls, tokens, crops, grid_hw):
    """Eq. 11 and Eq. 12 written out: CSP from the FiLM-calibrated content
    tokens, DSP from the crop tokens on the crop grid resized to the patch
    grid, ``F' = CSP + Attn(Q=CSP, K=DSP, V=DSP)``, ``F' + FFN(LN(F'))``.
    """
    b, n, _ = tokens.shape
    film = model.film_mlp(cls)
    gamma, beta = film[:, :TOK], film[:, TOK:]
    csp = model.csp_proj(
        model.csp_norm((1 + gamma[:, None]) * tokens + beta[:, None]))
    g = model.crop_grid
    coarse = model.dsp_proj(model.dsp_norm(crops))  # (B, g*g, prior)
    coarse = coarse.permute(0, 2, 1).reshape(b, PRIOR, g, g)
    dsp = F.interpolate(coarse, size=grid_hw, mode='bilinear',
                        align_corners=False).reshape(b, PRIOR, n)
    dsp = dsp.permute(0, 2, 1)
    heads = model.num_heads
    d = PRIOR // heads
    q, k, v = model.q_proj(csp), model.k_proj(dsp), model.v_proj(dsp)
    out = torch.zeros_like(csp)
    for head in range(heads):
        part = slice(head * d, (head + 1) * d)
        logits = q[..., part] @ k[..., part].transpose(1, 2) / d**0.5
        out[..., part] = logits.softmax(-1) @ v[..., part]
    prior = csp + model.attn_out(out)
    return prior + model.ffn(model.ffn_norm(prior))


@pytest.mark.parametrize('hw', [(4, 4), (3, 5)])
def test_default_forward_is_eq12(hw):
    model = _default_glgf()
    cls, tokens, crops = _inputs(hw=hw)
    with torch.no_grad():
        prior = model(cls, tokens, crops, hw)
        expected = _reference_prior(model, cls, tokens, crops, hw)
    torch.testing.assert_close(prior, expected, atol=1e-5, rtol=1e-5)


def test_default_attention_is_blind_to_crop_positions():
    """With the content grid equal to the crop grid (4x4: DSP is the crop
    tokens themselves), plain Eq. 12 attends to a set of crops: moving the
    crops around leaves the prior unchanged. The distance bias ties each
    patch to the crops near it, so there the prior changes."""
    hw = (4, 4)
    cls, tokens, crops = _inputs(hw=hw)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(1))
    moved = crops[:, order]
    torch.manual_seed(0)
    biased = _glgf().eval()
    with torch.no_grad():
        for model in (_default_glgf(), biased):
            base = model(cls, tokens, crops, hw)
            permuted = model(cls, tokens, moved, hw)
            if model.position_bias:
                assert (permuted - base).abs().max() > 0.05
            else:
                torch.testing.assert_close(permuted, base, atol=1e-5,
                                           rtol=1e-5)
        # Nor does plain attention know where a patch lies: moving the
        # content tokens moves their prior tokens along, unchanged.
        default = _default_glgf()
        torch.testing.assert_close(
            default(cls, tokens[:, order], crops, hw),
            default(cls, tokens, crops, hw)[:, order], atol=1e-5, rtol=1e-5)


def _inputs(b: int = 2, hw=(2, 3), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = hw[0] * hw[1]
    return (torch.randn(b, CLS, generator=g), torch.randn(b, n, TOK,
                                                          generator=g),
            torch.randn(b, 16, DEG, generator=g))


def _feat(layer: int, b: int = 2, size=(5, 7)) -> torch.Tensor:
    return torch.randn(b, CHANNELS[layer], *size)


def _perturb_injections(model: GLGF) -> None:
    with torch.no_grad():
        for module in model.injections.values():
            module.out_proj.weight.normal_(std=0.1)
            module.out_proj.bias.normal_(std=0.1)


def test_build_from_registry():
    model = MODELS.build(
        dict(
            type='GLGF',
            content_cls_dim=CLS,
            content_token_dim=TOK,
            degradation_dim=DEG,
            prior_dim=PRIOR,
            num_heads=2,
            layer_channels=list(CHANNELS),
            inject_layers=[0, 3, 7],
            inject_heads=[1, 2, 4, 8, 4, 2, 1, 1]))
    assert isinstance(model, GLGF)
    assert model.inject_layers == (0, 3, 7)
    assert sorted(model.injections.keys()) == ['0', '3', '7']
    assert model.inject_heads[3] == 8


@pytest.mark.parametrize('hw', [(2, 3), (7, 7)])
def test_prior_shapes(hw):
    model = _glgf()
    prior = model(*_inputs(hw=hw), hw)
    assert prior.shape == (2, hw[0] * hw[1], PRIOR)
    assert torch.isfinite(prior).all()
    # Plain Eq. 12 (no distance bias) as well.
    prior = _glgf(position_bias=False)(*_inputs(hw=hw), list(hw))
    assert prior.shape == (2, hw[0] * hw[1], PRIOR)


@pytest.mark.parametrize('size', [(5, 7), (16, 16), (1, 1)])
def test_inject_shapes_and_identity_at_init(size):
    model = _glgf()
    model.init_weights()  # must keep the zero output projections
    hw = (2, 3)
    prior = model(*_inputs(hw=hw), hw)
    hook = model.make_feature_hook(prior, hw)
    for layer in range(len(CHANNELS)):
        feat = _feat(layer, size=size)
        out = model.inject(layer, feat, prior, hw)
        assert out.shape == feat.shape
        assert torch.equal(out, feat)
        assert torch.equal(hook(layer, feat), feat)
    _perturb_injections(model)
    for layer in range(len(CHANNELS)):
        feat = _feat(layer, size=size)
        out = hook(layer, feat)
        assert out.shape == feat.shape
        assert not torch.equal(out, feat)


def test_init_cfg_keeps_zero_output_projection():
    model = _glgf(init_cfg=dict(type='Normal', layer='Linear', std=0.1))
    model.init_weights()
    hw = (2, 3)
    prior = model(*_inputs(hw=hw), hw)
    feat = _feat(0)
    assert torch.equal(model.inject(0, feat, prior, hw), feat)


def test_not_injected_layers_are_identity():
    model = _glgf(inject_layers=(1, 4))
    _perturb_injections(model)
    hw = (2, 2)
    prior = model(*_inputs(hw=hw), hw)
    for layer in range(len(CHANNELS)):
        feat = _feat(layer)
        out = model.inject(layer, feat, prior, hw)
        if layer in (1, 4):
            assert not torch.equal(out, feat)
        else:
            assert out is feat


def test_training_leaves_identity_and_all_parts_learn():
    torch.manual_seed(0)
    model = _glgf()
    hw = (2, 3)
    feats = [_feat(layer, size=(4, 4)) for layer in range(len(CHANNELS))]
    inputs = _inputs(hw=hw)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def step():
        optimizer.zero_grad()
        prior = model(*inputs, hw)
        hook = model.make_feature_hook(prior, hw)
        loss = sum((hook(i, f) - 1).abs().mean() for i, f in enumerate(feats))
        loss.backward()
        grads = {
            name: (p.grad.abs().sum().item() if p.grad is not None else 0.)
            for name, p in model.named_parameters()
        }
        optimizer.step()
        return grads

    grads = step()
    for layer in range(len(CHANNELS)):
        assert grads[f'injections.{layer}.out_proj.weight'] > 0
        assert grads[f'injections.{layer}.out_proj.bias'] > 0
    # Zero output projections block the gradient upstream at first.
    assert grads['film_mlp.1.weight'] == 0
    assert grads['injections.0.kv_proj.weight'] == 0

    prior = model(*inputs, hw)
    for layer, feat in enumerate(feats):
        assert not torch.equal(model.inject(layer, feat, prior, hw), feat)

    grads = step()
    for name in [
            'film_mlp.1.weight', 'film_mlp.3.weight', 'csp_proj.weight',
            'dsp_proj.weight', 'q_proj.weight', 'k_proj.weight',
            'v_proj.weight', 'attn_out.weight', 'log_slopes', 'ffn.0.weight',
            'injections.0.q_proj.weight', 'injections.0.kv_proj.weight',
            'injections.3.kv_proj.weight', 'injections.7.prior_norm.weight'
    ]:
        assert grads[name] > 0, name


def test_crop_layout_row_major():
    """A very different crop token moves the prior mostly in its cell."""
    torch.manual_seed(0)
    model = _glgf(prior_dim=16, num_heads=4).eval()
    hw = (8, 8)  # every crop of the 4x4 grid covers 2x2 patches
    cls, tokens, crops = _inputs(b=1, hw=hw)
    crops = 0.1 * crops
    base = model(cls, tokens, crops, hw)
    for row, col in [(0, 3), (2, 1), (3, 0)]:
        changed = crops.clone()
        changed[:, row * 4 + col] = 10 * torch.randn(DEG)
        diff = (model(cls, tokens, changed, hw) - base).norm(dim=-1)
        diff = diff.view(8, 8)
        inside = torch.zeros(8, 8, dtype=torch.bool)
        inside[2 * row:2 * row + 2, 2 * col:2 * col + 2] = True
        assert inside.view(-1)[diff.view(-1).argmax()]
        assert diff[inside].mean() > 2 * diff[~inside].mean()

    # Swapping two crops changes the prior in their cells only (mostly).
    swapped = crops.clone()
    swapped[:, [0, 15]] = crops[:, [15, 0]]
    diff = (model(cls, tokens, swapped, hw) - base).norm(dim=-1).view(8, 8)
    corners = torch.zeros(8, 8, dtype=torch.bool)
    corners[:2, :2] = corners[6:, 6:] = True
    assert diff[corners].mean() > 2 * diff[~corners].mean()


def _reference_inject(mod, feat, prior, grid_hw, heads):
    """Eq.: every pixel LayerNormed and projected to keys and values,
    attention of the prior tokens over them, update resized then projected
    (1x1 conv)."""
    b, c, h, w = feat.shape
    q = mod.q_proj(mod.prior_norm(prior))
    kv = mod.kv_proj(mod.feat_norm(feat.permute(0, 2, 3, 1).reshape(
        b, h * w, c)))
    k, v = kv.chunk(2, dim=-1)

    def split(x):
        return x.view(b, -1, heads, c // heads).transpose(1, 2)

    n = grid_hw[0] * grid_hw[1]
    attn = (split(q) @ split(k).transpose(-1, -2)) / (c // heads)**0.5
    upd = (attn.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, n, c)
    upd = F.interpolate(
        upd.transpose(1, 2).reshape(b, c, *grid_hw), size=(h, w),
        mode='bilinear', align_corners=False)
    return feat + F.conv2d(upd, mod.out_proj.weight[:, :, None, None],
                           mod.out_proj.bias)


# (5, 7): the small-map path; (80, 72): >= 4096 pixels, the channel-loop
# statistics under no_grad. Offset: LayerNorm's statistics must hold for
# features far from zero mean.
@pytest.mark.parametrize('size', [(5, 7), (80, 72)])
@pytest.mark.parametrize('grad', [False, True])
def test_inject_matches_reference(size, grad):
    torch.manual_seed(0)
    model = _glgf(inject_heads=2)
    _perturb_injections(model)
    mod = model.injections['1']
    nn.init.normal_(mod.feat_norm.weight, 1.0, 0.2)
    nn.init.normal_(mod.feat_norm.bias, 0.0, 0.2)
    hw = (2, 3)
    prior = model(*_inputs(hw=hw), hw).detach()
    feat = (_feat(1, size=size) * 2 + 3).repeat(2, 1, 1, 1)
    feat[1] = feat[1].flip(-1)
    prior = torch.cat([prior, prior.flip(1)])
    with torch.set_grad_enabled(grad):
        feat_a = feat.clone().requires_grad_(grad)
        feat_b = feat.clone().requires_grad_(grad)
        out = model.inject(1, feat_a, prior, hw)
        ref = _reference_inject(mod, feat_b, prior, hw, heads=2)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    if grad:
        weight = torch.randn_like(out)
        grads = torch.autograd.grad((out * weight).sum(),
                                    [feat_a, mod.kv_proj.weight])
        grads_ref = torch.autograd.grad((ref * weight).sum(),
                                        [feat_b, mod.kv_proj.weight])
        for got, want in zip(grads, grads_ref):
            torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_shape_errors():
    model = _glgf()
    cls, tokens, crops = _inputs(hw=(2, 3))
    with pytest.raises(ValueError, match='h \\* w'):
        model(cls, tokens, crops, (3, 3))
    with pytest.raises(ValueError, match='16 crop tokens'):
        model(cls, tokens, crops[:, :9], (2, 3))
    with pytest.raises(ValueError, match='content_cls'):
        model(cls[:, :4], tokens, crops, (2, 3))
    with pytest.raises(ValueError, match='content_tokens'):
        model(cls, tokens[..., :4], crops, (2, 3))
    with pytest.raises(ValueError, match='grid_hw'):
        model(cls, tokens, crops, (6, ))
    prior = model(cls, tokens, crops, (2, 3))
    with pytest.raises(ValueError, match='layer 2: expected .* 32 channels'):
        model.inject(2, _feat(1), prior, (2, 3))
    with pytest.raises(ValueError, match='layer_index'):
        model.inject(8, _feat(1), prior, (2, 3))
    with pytest.raises(ValueError, match='prior tokens'):
        model.inject(0, _feat(0), prior, (3, 3))
    with pytest.raises(ValueError, match='batch'):
        model.inject(0, _feat(0, b=3), prior, (2, 3))
    with pytest.raises(ValueError, match='prior_dim|channels'):
        model.make_feature_hook(prior[..., :4], (2, 3))


@pytest.mark.parametrize('kwargs', [
    dict(prior_dim=10, num_heads=4),
    dict(layer_channels=()),
    dict(inject_layers=(0, 8)),
    dict(inject_layers=(1, 1)),
    dict(inject_heads=3),
    dict(inject_heads=(1, 2)),
    dict(ffn_ratio=0),
    dict(crop_grid=0),
])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        _glgf(**kwargs)


def _tiny_slernet():
    torch.manual_seed(0)
    return SLERNet(
        dim=8,
        num_blocks=(1, 1, 1, 1),
        num_refinement_blocks=1,
        heads=(1, 1, 1, 1),
        num_experts=2).eval()


def test_slernet_feature_hook():
    """The hook plugs into SLERNet: a fresh GLGF leaves its output as is;
    with non-zero output projections the backbone's output is the one of
    injecting, with ``inject()``, into each of its 8 layers in turn."""
    net = _tiny_slernet()
    model = _glgf()
    hw = (2, 2)
    prior = model(*_inputs(b=1, hw=hw), hw)
    img = torch.rand(1, 3, 16, 16)
    routing = torch.zeros(1, 8, dtype=torch.long)
    with torch.no_grad():
        plain = net(img, routing)
        hooked = net(img, routing, feature_hook=model.make_feature_hook(
            prior, hw))
    assert torch.equal(plain, hooked)

    _perturb_injections(model)
    layers = []

    def reference(layer, feat):
        layers.append(layer)
        return model.inject(layer, feat, prior, hw)

    with torch.no_grad():
        hooked = net(img, routing, feature_hook=model.make_feature_hook(
            prior, hw))
        expected = net(img, routing, feature_hook=reference)
    assert layers == list(range(len(CHANNELS)))
    # The injections change the output, and exactly as inject() says.
    assert (hooked - plain).abs().max() > 1e-3
    torch.testing.assert_close(hooked, expected, rtol=0, atol=0)


def test_import_paths_and_state_dict_keys():
    """The injection lives in prior_injection (and the package); the
    checkpoint keys stay."""
    from sler_ir_mm.models.necks import PriorInjection as from_package
    from sler_ir_mm.models.necks.prior_injection import PriorInjection
    assert PriorInjection is from_package
    assert MODELS.get('GLGF') is GLGF
    keys = set(_glgf(inject_layers=(0, 5)).state_dict())
    assert {
        'film_mlp.1.weight', 'csp_proj.weight', 'dsp_proj.weight',
        'q_proj.weight', 'attn_out.bias', 'log_slopes', 'ffn.2.weight',
        'injections.0.prior_norm.weight', 'injections.5.q_proj.weight',
        'injections.5.kv_proj.bias', 'injections.5.out_proj.weight',
        'injections.5.feat_norm.bias'
    } <= keys
    assert not any(k.startswith('injections.1.') for k in keys)


def _count_checks(monkeypatch) -> list:
    """Record every call of a check function of the GLGF modules (names
    ``check_*`` / ``_check_*``) made from outside another check, as
    ``(name, arguments)``: one entry per check, however it is split up.
    """
    from sler_ir_mm.models.necks import glgf, prior_injection
    calls, depth = [], [0]
    for module in (prior_injection, glgf):
        for name in dir(module):
            real = getattr(module, name)
            if not (name.startswith(('check_', '_check_'))
                    and callable(real)):
                continue

            def counted(*args, _real=real, _name=name, **kwargs):
                if depth[0] == 0:
                    calls.append((_name, args + tuple(kwargs.values())))
                depth[0] += 1
                try:
                    return _real(*args, **kwargs)
                finally:
                    depth[0] -= 1

            monkeypatch.setattr(module, name, counted)
    return calls


def test_hook_checks_the_prior_once(monkeypatch):
    """The prior and its grid are checked once, when the hook is made;
    the backbone passes through the injected layers run no check."""
    calls = _count_checks(monkeypatch)
    net = _tiny_slernet()
    model = _glgf()
    _perturb_injections(model)
    hw = (2, 2)
    img = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        prior = model(*_inputs(b=1, hw=hw), hw)
        calls.clear()
        hook = model.make_feature_hook(prior, hw)
        assert len(calls) >= 1
        assert sum(any(a is prior for a in args) for _, args in calls) == 1
        calls.clear()
        for _ in range(2):
            hooked = net(img, torch.zeros(1, 8).long(), feature_hook=hook)
    assert calls == []
    # Same result as injecting layer by layer with the checked inject().
    feats = []
    with torch.no_grad():
        net(img, torch.zeros(1, 8).long(),
            feature_hook=lambda i, f: feats.append(f) or f)
        for layer, feat in enumerate(feats):
            torch.testing.assert_close(
                hook(layer, feat), model.inject(layer, feat, prior, hw),
                rtol=0, atol=0)
    assert hooked.shape == (1, 3, 16, 16)
    # What the hook did not check again is still checked once: a bad
    # prior is refused when the hook is made.
    with pytest.raises(ValueError, match='prior'):
        model.make_feature_hook(prior[..., :4], hw)


def test_hook_rejects_mismatched_features():
    model = _glgf(inject_layers=(0, 2))
    hw = (2, 3)
    prior = model(*_inputs(hw=hw), hw)
    hook = model.make_feature_hook(prior, hw)
    with pytest.raises(ValueError, match='layer 2: expected .* 32 channels'):
        hook(2, _feat(1))
    with pytest.raises(ValueError, match='layer 0: batch of prior'):
        hook(0, _feat(0, b=3))
    with pytest.raises(ValueError, match='must have shape'):
        hook(0, torch.zeros(2, CHANNELS[0], 5))
    # Layers without injection pass their features through untouched.
    feat = _feat(1, b=3)
    assert hook(1, feat) is feat
    with pytest.raises(ValueError, match='prior tokens'):
        model.make_feature_hook(prior, (3, 3))
    with pytest.raises(TypeError, match='prior must be a Tensor'):
        model.make_feature_hook(prior.tolist(), hw)
