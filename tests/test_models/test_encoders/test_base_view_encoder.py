"""The view interface (BaseViewEncoder): every encoder implements it, and
SLERRestorer refuses a component without it, naming the config key."""
from typing import Tuple

import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from tiny_models import NET, TOWER

from sler_ir_mm.models.encoders import (BaseViewEncoder, CLIPImageEncoder,
                                        ConvDegradationEncoder,
                                        DACLIPEncoder, EncoderOutput)


class TokenlessEncoder(BaseViewEncoder):
    """A view encoder with a global embedding only (no patch tokens)."""

    def __init__(self, config_key: str = 'checkpoint') -> None:
        super().__init__()
        self.image_size: Tuple[int, int] = (16, 16)
        self.embed_dim = 8
        self.proj = torch.nn.Linear(3, 8)

    def preprocess(self, img: torch.Tensor) -> torch.Tensor:
        return F.interpolate(img, size=self.image_size, mode='bilinear')

    def forward_preprocessed(self, views: torch.Tensor) -> EncoderOutput:
        cls = self.proj(views.mean((2, 3)))
        return EncoderOutput(cls, cls[:, None])


def restorer_cfg(**kwargs):
    cfg = dict(
        type='SLERRestorer',
        generator=NET,
        router=dict(type='SphericalRouter', embed_dim=8),
        degradation_encoder=dict(
            type='ConvDegradationEncoder', channels=(8, 16), embed_dim=16),
        pixel_loss=dict(type='L1Loss'),
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3))
    cfg.update(kwargs)
    return cfg


@pytest.mark.parametrize('encoder, content, tokens', [
    (lambda: ConvDegradationEncoder(channels=(8, 16), embed_dim=24,
                                    image_size=32), False, (24, (8, 8))),
    (lambda: CLIPImageEncoder(vision_cfg=TOWER, embed_dim=16,
                              random_init=True), False, (32, (4, 4))),
    (lambda: DACLIPEncoder(vision_cfg=TOWER, embed_dim=16,
                           random_init=True), True, (32, (4, 4))),
])
def test_every_encoder_has_the_view_interface(encoder, content, tokens):
    enc = encoder()
    assert isinstance(enc, BaseViewEncoder)
    assert enc.provides_content is content
    assert enc.has_tokens and (enc.token_dim, enc.grid_size) == tokens
    img = torch.rand(2, 3, 20, 28)
    views = enc.preprocess(img)
    assert tuple(views.shape) == (2, 3) + tuple(enc.image_size)
    out = enc.forward_preprocessed(views)
    assert isinstance(out, EncoderOutput)
    assert out.cls.shape == (2, enc.embed_dim)
    h, w = enc.grid_size
    assert out.tokens.shape == (2, h * w, enc.token_dim)
    # forward = preprocess + forward_preprocessed (the degradation side).
    torch.testing.assert_close(enc(img).cls, out.cls)
    if content:
        both = enc.forward_both_preprocessed(views, num_content=1)
        assert both[0].cls.shape == (1, enc.embed_dim)
        torch.testing.assert_close(both[1].cls, out.cls)
    else:
        with pytest.raises(NotImplementedError, match='provides_content'):
            enc.forward_both_preprocessed(views)


def test_the_interface_is_abstract():
    with pytest.raises(TypeError, match='abstract'):
        BaseViewEncoder()
    enc = TokenlessEncoder()
    assert not enc.has_tokens and enc.token_dim is None
    assert enc(torch.rand(1, 3, 5, 7)).cls.shape == (1, 8)


def test_every_encoder_takes_the_config_key_the_restorer_passes():
    enc = ConvDegradationEncoder(config_key='model.degradation_encoder.x')
    assert enc.config_key == 'model.degradation_encoder.x'
    model = MODELS.build(restorer_cfg())
    assert model.degradation_encoder.config_key == \
        'model.degradation_encoder.checkpoint'


def test_restorer_refuses_a_component_without_the_view_interface():
    # IdentityNet is a registered model, not an encoder.
    with pytest.raises(TypeError, match=r'model\.degradation_encoder must '
                       r'build an image encoder with the view interface'):
        MODELS.build(restorer_cfg(degradation_encoder=dict(
            type='IdentityNet')))
    with pytest.raises(TypeError, match=r'model\.content_encoder must'):
        MODELS.build(restorer_cfg(
            content_encoder=dict(type='IdentityNet'),
            glgf=dict(type='GLGF', prior_dim=8, num_heads=2)))

    def builder(config_key: str) -> torch.nn.Module:
        return torch.nn.Identity()

    # A builder function is checked on what it builds.
    with pytest.raises(TypeError, match='got a Identity'):
        MODELS.build(restorer_cfg(degradation_encoder=dict(type=builder)))


def test_a_tokenless_encoder_works_without_glgf_and_is_refused_with_it():
    model = MODELS.build(restorer_cfg(
        degradation_encoder=dict(type=TokenlessEncoder))).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 12, 12)).shape == (1, 3, 12, 12)
    with pytest.raises(ValueError, match='patch tokens'):
        MODELS.build(restorer_cfg(
            degradation_encoder=dict(type=TokenlessEncoder),
            glgf=dict(type='GLGF', prior_dim=8, num_heads=2)))
