"""ConvDegradationEncoder: the small trainable CNN that stands in for the
degradation CLIP (issue 16): shapes, any input size, gradients, the
registry, argument checks, and one training step inside a tiny
SLERRestorer (with and without GLGF reading its tokens)."""
import pytest
import torch
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper

from sler_ir_mm.models.encoders import ConvDegradationEncoder, EncoderOutput


def encoder(**kwargs):
    torch.manual_seed(0)
    cfg = dict(channels=(8, 16), embed_dim=24, image_size=32)
    cfg.update(kwargs)
    return ConvDegradationEncoder(**cfg)


@pytest.mark.parametrize('channels, image_size, grid', [
    ((8, 16), 32, 8),
    ((16, 32, 64), 128, 16),  # the defaults
    ((8, 16), 20, 5),
    ((4, ), 7, 4),  # odd sides round up: ceil(7 / 2)
])
def test_output_shapes(channels, image_size, grid):
    enc = encoder(channels=channels, image_size=image_size)
    assert enc.image_size == (image_size, image_size)
    assert enc.grid_size == (grid, grid)
    assert enc.embed_dim == enc.token_dim == 24
    assert enc.provides_content is False
    out = enc(torch.rand(3, 3, image_size, image_size))
    assert isinstance(out, EncoderOutput)
    assert out.cls.shape == (3, 24)
    # One token per location of the last feature map: grid_size is true.
    assert out.tokens.shape == (3, grid * grid, 24)
    assert torch.isfinite(out.cls).all() and torch.isfinite(out.tokens).all()


@pytest.mark.parametrize('size', [(32, 32), (1, 1), (3, 5), (17, 64),
                                  (200, 90)])
def test_any_input_size(size):
    enc = encoder()
    img = torch.rand(2, 3, *size)
    views = enc.preprocess(img)
    assert views.shape == (2, 3, 32, 32)
    out = enc(img)
    assert out.cls.shape == (2, 24) and out.tokens.shape == (2, 64, 24)
    # forward == preprocess + forward_preprocessed.
    again = enc.forward_preprocessed(views)
    assert torch.equal(out.cls, again.cls)
    assert torch.equal(out.tokens, again.tokens)


def test_views_of_the_right_size_are_not_resampled():
    enc = encoder()
    img = torch.rand(1, 3, 32, 32)
    assert enc.preprocess(img) is img


def test_embedding_tells_the_spread_apart():
    """Mean and std pooling: a noisy and a flat image of the same mean
    get different embeddings."""
    enc = encoder()
    flat = torch.full((1, 3, 32, 32), 0.5)
    noisy = (flat + 0.2 * torch.randn(1, 3, 32, 32)).clamp(0, 1)
    with torch.no_grad():
        assert not torch.allclose(enc(flat).cls, enc(noisy).cls, atol=1e-3)


def test_cls_pools_mean_and_std_of_the_features_tokens_are_per_location():
    enc = encoder()
    views = enc.preprocess(torch.rand(2, 3, 32, 32))
    with torch.no_grad():
        out = enc.forward_preprocessed(views)
        flat = enc.body(views).flatten(2)  # (B, C, N)
        pooled = torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], 1)
        assert torch.allclose(out.cls, enc.cls_proj(pooled), atol=1e-6)
        assert torch.allclose(out.tokens,
                              enc.token_proj(flat.transpose(1, 2)),
                              atol=1e-6)


def test_gradients_reach_every_parameter_and_the_input():
    enc = encoder()
    img = torch.rand(2, 3, 40, 24, requires_grad=True)
    out = enc(img)
    (out.cls.pow(2).sum() + out.tokens.pow(2).sum()).backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert img.grad is not None and img.grad.abs().sum() > 0
    # The CLS alone trains the body and its own projection, not the tokens'.
    enc.zero_grad()
    enc(torch.rand(2, 3, 32, 32)).cls.sum().backward()
    assert enc.cls_proj.weight.grad.abs().sum() > 0
    assert enc.body[0].weight.grad.abs().sum() > 0
    assert enc.token_proj.weight.grad is None


def test_registry_build():
    enc = MODELS.build(
        dict(type='ConvDegradationEncoder', channels=(8, ), embed_dim=16,
             image_size=16))
    assert type(enc) is ConvDegradationEncoder
    assert enc.embed_dim == 16 and enc.image_size == (16, 16)
    assert enc(torch.rand(1, 3, 9, 9)).cls.shape == (1, 16)
    default = MODELS.build(dict(type='ConvDegradationEncoder'))
    assert default.embed_dim == 64 and default.image_size == (128, 128)
    assert default.grid_size == (16, 16)


@pytest.mark.parametrize('kwargs, message', [
    (dict(channels=()), 'channels'),
    (dict(channels=(8, 0)), 'channels'),
    (dict(embed_dim=0), 'embed_dim'),
    (dict(channels=(8, 16, 32), image_size=4), 'image_size must be >= 8'),
])
def test_argument_checks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConvDegradationEncoder(**kwargs)


def tiny_restorer(**kwargs):
    cfg = dict(
        type='SLERRestorer',
        generator=dict(
            type='SLERNet', dim=8, num_blocks=(1, 1, 1, 1),
            num_refinement_blocks=1, heads=(1, 1, 2, 2), num_experts=3),
        router=dict(type='SphericalRouter', embed_dim=16),
        degradation_encoder=dict(
            type='ConvDegradationEncoder', channels=(8, 16), embed_dim=32,
            image_size=16),
        pixel_loss=dict(type='L1Loss'),
        contrastive_loss=dict(type='HypersphericalContrastiveLoss'),
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0., 0., 0.],
            std=[255., 255., 255.]))
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('glgf', [None, dict(type='GLGF', prior_dim=8,
                                             num_heads=2)])
def test_one_train_step_inside_a_tiny_restorer(glgf):
    torch.manual_seed(0)
    model = tiny_restorer(glgf=glgf)
    enc = model.degradation_encoder
    assert type(enc) is ConvDegradationEncoder
    # The router reads the encoder's embedding; GLGF (if any) its tokens
    # on the encoder's grid.
    assert model.router.in_channels == 32
    if glgf is not None:
        assert model.glgf.content_token_dim == 32
        assert model.glgf.degradation_dim == 32
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-2))
    labels = [0, 0, 1, 1]
    data = dict(
        inputs=torch.rand(4, 3, 24, 24) * 255,
        data_samples=[
            DataSample(gt_img=torch.rand(3, 24, 24) * 255,
                       metainfo=dict(degradation_label=label))
            for label in labels
        ])
    model.train()
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss']) and log['loss_hc'] > 0
    # Stage 1 trains the encoder end to end (pixel + contrastive loss).
    changed = [k for k, v in enc.state_dict().items()
               if not torch.equal(v, before[k])]
    assert 'cls_proj.weight' in changed and 'body.0.weight' in changed
    if glgf is None:
        assert 'token_proj.weight' not in changed  # no one reads the tokens
    else:
        # The tokens feed GLGF's prior. Its injections start at zero (no
        # gradient to the prior in the first step); after it, they pass one.
        assert 'token_proj.weight' not in changed
        model.train_step(data, wrapper)
        assert not torch.equal(enc.token_proj.weight,
                               before['token_proj.weight'])
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 13, 21), mode='tensor')
    assert out.shape == (1, 3, 13, 21) and torch.isfinite(out).all()
