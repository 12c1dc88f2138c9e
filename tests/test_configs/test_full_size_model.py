"""The paper config's model at full size (issue 16).

``configs/sler_ir_5task.py`` builds with random DA-CLIP weights in place of
the checkpoint and nothing else changed: a dim-48 SLERNet with C = 3 experts
in each of its 8 block stacks, DA-CLIP ViT-B-32 towers on both sides and
GLGF injecting into all 8 routed layers. The facts are read off the built
model (not the config), and one small image goes through it in both stages.
test_shipped_configs.py builds every config with a tiny backbone and tower
instead; this is the only test of the full-size construction and forward.
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmagic.registry import MODELS

from sler_ir_mm.models.backbones.slernet import SLERNet
from sler_ir_mm.models.encoders import DACLIPEncoder
from sler_ir_mm.models.necks.glgf import GLGF
from sler_ir_mm.models.routers import SphericalRouter

CONFIG = osp.join('configs', 'sler_ir_5task.py')


@pytest.fixture(scope='module')
def built(repo_root):
    cfg = Config.fromfile(osp.join(repo_root, CONFIG))
    model_cfg = cfg.model
    assert model_cfg.degradation_encoder.pop('checkpoint')
    model_cfg.degradation_encoder.random_init = True
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    return cfg, model


def _stack_depths(stack):
    return {len(expert) for expert in stack.experts}


def test_the_built_model_is_the_papers(built):
    cfg, model = built
    net = model.generator
    assert type(net) is SLERNet
    # dim 48: the 8 routed layers' channels follow from it.
    assert net.patch_embed.proj.out_channels == 48
    assert tuple(net.layer_channels) == (48, 96, 192, 384, 192, 96, 96, 96)
    # C = 3 experts in each of the 8 routed block stacks, each expert as
    # deep as the config's level.
    assert net.num_routed_layers == 8 and net.num_experts == 3
    depths = dict(zip(SLERNet.ROUTED_LAYERS, (4, 6, 6, 8, 6, 6, 4, 4)))
    for name, depth in depths.items():
        stack = getattr(net, name)
        assert len(stack.experts) == 3, name
        assert _stack_depths(stack) == {depth}, name
    heads = {getattr(net, n).experts[0][0].attn.num_heads
             for n in ('encoder_level1', 'latent')}
    assert heads == {1, 8}

    # DA-CLIP ViT-B-32 on both sides: controller + CLIP tower, 224 views,
    # 32-pixel patches, 12 blocks of width 768, 512-d embeddings.
    enc = model.degradation_encoder
    assert type(enc) is DACLIPEncoder and model.content_encoder is None
    for tower in (enc.visual, enc.controller):
        assert tower.transformer.width == 768
        assert len(tower.transformer.resblocks) == 12
        assert tuple(tower.conv1.kernel_size) == (32, 32)
    assert tuple(enc.image_size) == (224, 224)
    assert tuple(enc.grid_size) == (7, 7)
    assert enc.embed_dim == 512
    assert len(enc.zero_linears) == 12
    # Frozen, as configured (the default of the config): no parameter of
    # the encoder trains.
    assert not any(p.requires_grad for p in enc.parameters())

    # The spherical router: 8 layers x 3 experts on 128-d routing vectors.
    router = model.router
    assert type(router) is SphericalRouter
    assert (router.in_channels, router.num_layers, router.num_experts,
            router.embed_dim) == (512, 8, 3, 128)
    assert float(router.temperature) == pytest.approx(0.1)
    assert tuple(router.centers.shape) == (3, 128)  # shared centers

    # GLGF on all 8 routed layers, with the backbone's channels.
    glgf = model.glgf
    assert type(glgf) is GLGF
    assert glgf.inject_layers == tuple(range(8))
    assert sorted(glgf.injections) == [str(i) for i in range(8)]
    assert glgf.layer_channels == tuple(net.layer_channels)
    assert (glgf.content_cls_dim, glgf.content_token_dim,
            glgf.degradation_dim) == (512, 768, 512)
    assert glgf.crop_grid == 4

    # The rest as configured.
    assert model.contrastive_loss.margin == 0.5
    assert model.contrastive_loss.loss_weight == 1.0
    assert model.route_tile_size == cfg.model.route_tile_size == 128
    assert model.test_routing == 'auto'
    assert model.pad_multiple == 8
    assert model.stage == 1
    # Tens of millions of parameters, as a Restormer-sized C = 3 model with
    # two ViT-B-32 towers has.
    assert sum(p.numel() for p in net.parameters()) > 20e6
    assert sum(p.numel() for p in enc.parameters()) > 150e6


def test_one_forward_in_each_stage(built):
    _, model = built
    model.eval()
    calls = []
    handles = [
        module.register_forward_hook(
            lambda mod, args, out, i=int(i): calls.append(i))
        for i, module in model.glgf.injections.items()
    ]
    torch.manual_seed(0)
    img = torch.rand(1, 3, 32, 32)
    try:
        with torch.no_grad():
            assert model._soft_at_test()
            out1 = model(img, mode='tensor')
            assert sorted(calls) == list(range(8))  # every layer injects
            model.enter_stage2()
            assert model.stage == 2 and not model._soft_at_test()
            out2 = model.forward_tensor(img)
    finally:
        for handle in handles:
            handle.remove()
    for out in (out1, out2):
        assert out.shape == (1, 3, 32, 32)
        assert torch.isfinite(out).all()
    assert sorted(calls) == sorted(list(range(8)) * 2)
    assert model.router.frozen
