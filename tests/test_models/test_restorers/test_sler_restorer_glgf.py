"""SLERRestorer with CLIP towers and GLGF (tiny towers, random weights)."""
import pytest
import torch
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from tiny_models import NET, TOWER, count_tower_calls

from sler_ir_mm.utils.view_geometry import encoder_views


def clip(kind='CLIPImageEncoder', **kwargs):
    cfg = dict(type=kind, vision_cfg=TOWER, embed_dim=16, random_init=True)
    cfg.update(kwargs)
    return cfg


def restorer(degradation=None, content=None, with_glgf=True):
    return MODELS.build(
        dict(
            type='SLERRestorer',
            generator=NET,
            router=dict(type='SphericalRouter', embed_dim=8),
            degradation_encoder=degradation or clip(),
            content_encoder=content,
            glgf=dict(type='GLGF', prior_dim=16, num_heads=2),
            with_glgf=with_glgf,
            pixel_loss=dict(type='L1Loss'),
            contrastive_loss=dict(type='HypersphericalContrastiveLoss'),
            data_preprocessor=dict(
                type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)))


def test_encoder_views_layout():
    img = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    views = encoder_views(img, (2, 2), crop_grid=4)
    assert views.shape == (2 + 32, 3, 2, 2)
    # Same size as the grid of 2x2 crops: the crops are the image's cells,
    # row-major, image after image.
    crops = views[2:].view(2, 4, 4, 3, 2, 2)
    assert torch.equal(crops[1, 2, 3], img[1, :, 4:6, 6:8])


@pytest.mark.parametrize('size', [(67, 93), (16, 16), (3, 5)])
def test_odd_and_tiny_sizes(size):
    model = restorer().eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size), mode='predict')
    assert out[0].output.pred_img.shape == (3, *size)
    assert out[1].output.route.shape == (8, )


def test_new_glgf_is_the_identity():
    torch.manual_seed(0)
    with_glgf = restorer().eval()
    without = restorer(with_glgf=False).eval()
    assert without.glgf is None
    missing, unexpected = without.load_state_dict(
        with_glgf.state_dict(), strict=False)
    assert not missing and all(k.startswith('glgf.') for k in unexpected)
    x = torch.rand(2, 3, 24, 40)
    with torch.no_grad():
        assert torch.allclose(with_glgf.forward_tensor(x),
                              without.forward_tensor(x), atol=1e-6)


def test_one_batched_call_per_tower_and_shared_towers_run_once():
    x = torch.rand(3, 3, 20, 20)
    # Separate content CLIP: degradation tower on 3 images + 48 crops in one
    # call, content tower on the 3 images in one call.
    model = restorer(content=clip()).eval()
    deg_calls = count_tower_calls(model.degradation_encoder)
    content_calls = count_tower_calls(model.content_encoder)
    with torch.no_grad():
        model.forward_tensor(x)
    assert [b for _, b in deg_calls] == [3 + 48]
    assert [b for _, b in content_calls] == [3]
    # DA-CLIP serves both sides: its controller runs once on all views, its
    # controlled (content) tower once on the whole images, whose content
    # alone GLGF reads.
    model = restorer(degradation=clip('DACLIPEncoder')).eval()
    calls = count_tower_calls(model.degradation_encoder)
    with torch.no_grad():
        model.forward_tensor(x)
    assert sorted(calls) == [('controller.conv1', 51), ('visual.conv1', 3)]
    # One plain CLIP for both sides runs once.
    model = restorer().eval()
    calls = count_tower_calls(model.degradation_encoder)
    with torch.no_grad():
        model.forward_tensor(x)
    assert [b for _, b in calls] == [51]
    # Without GLGF only the whole images are encoded.
    model = restorer(with_glgf=False).eval()
    calls = count_tower_calls(model.degradation_encoder)
    with torch.no_grad():
        model.forward_tensor(x)
    assert [b for _, b in calls] == [3]


@pytest.mark.parametrize('degradation', ['CLIPImageEncoder', 'DACLIPEncoder'])
def test_gradients_reach_glgf_and_router_not_frozen_towers(degradation):
    torch.manual_seed(0)
    model = restorer(degradation=clip(degradation), content=clip())
    model.train()
    # Make the zero-initialised injections non-zero so every GLGF part is on
    # the gradient path, as after the first optimizer step.
    with torch.no_grad():
        for name, p in model.glgf.named_parameters():
            if 'out_proj' in name:
                p.normal_(0, 0.1)
    samples = DataSample()
    samples.set_tensor_data(dict(gt_img=torch.rand(4, 3, 16, 16)))
    samples.set_metainfo(dict(degradation_label=[0, 0, 1, 1]))
    losses = model(torch.rand(4, 3, 16, 16), samples, mode='loss')
    (losses['loss_pix'] + losses['loss_hc']).backward()
    for enc in (model.degradation_encoder, model.content_encoder):
        assert all(p.grad is None for p in enc.parameters())
        assert not any(p.requires_grad for p in enc.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.router.parameters())
    glgf_grads = {
        n: p.grad
        for n, p in model.glgf.named_parameters() if p.requires_grad
    }
    assert glgf_grads and all(
        g is not None and g.abs().sum() > 0 for g in glgf_grads.values())


def test_missing_weights_name_the_config_key(tmp_path):
    missing = str(tmp_path / 'no_such_clip.pth')
    with pytest.raises(Exception, match='model.content_encoder.checkpoint'):
        restorer(content=dict(
            type='CLIPImageEncoder', vision_cfg=TOWER, embed_dim=16,
            checkpoint=missing))
    with pytest.raises(Exception,
                       match='model.degradation_encoder.checkpoint'):
        restorer(degradation=dict(
            type='CLIPImageEncoder', vision_cfg=TOWER, embed_dim=16))


@pytest.mark.parametrize('part, override, expected', [
    ('glgf', dict(layer_channels=[8, 16]),
     "model.glgf.layer_channels=(8, 16) does not match the backbone's "
     'routed-layer channels, (8, 16, 32, 64, 32, 16, 16, 16): leave '
     'glgf.layer_channels out of the config'),
    ('glgf', dict(degradation_dim=32),
     "model.glgf.degradation_dim=32 does not match the degradation "
     "encoder's embed_dim, 16"),
    ('router', dict(num_experts=4),
     "model.router.num_experts=4 does not match the backbone's num_experts "
     '(model.generator.num_experts), 3: leave router.num_experts out of the '
     'config (it is filled in from there); to train 4 experts per layer set '
     'model.generator.num_experts=4'),
])
def test_inconsistent_parts_say_what_to_change(part, override, expected):
    cfg = dict(
        type='SLERRestorer',
        generator=NET,
        router=dict(type='SphericalRouter', embed_dim=8),
        degradation_encoder=clip(),
        glgf=dict(type='GLGF', prior_dim=16, num_heads=2),
        pixel_loss=dict(type='L1Loss'),
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3))
    cfg[part].update(override)
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg)
    assert expected in str(err.value)
