"""Tests of the CLIP encoders on tiny open_clip towers with random weights."""
import copy

import pytest
import torch
import torch.nn as nn

from mmagic.registry import MODELS
from sler_ir_mm.models.encoders import (CLIPImageEncoder, DACLIPEncoder,
                                        EncoderOutput)

EMBED = 16
WIDTH = 32


def tiny_cfg(**kwargs):
    cfg = dict(
        image_size=32, layers=2, width=WIDTH, patch_size=16, head_width=16)
    cfg.update(kwargs)
    return cfg


def tiny_clip(**kwargs):
    kwargs.setdefault('vision_cfg', tiny_cfg())
    kwargs.setdefault('embed_dim', EMBED)
    kwargs.setdefault('random_init', True)
    return CLIPImageEncoder(**kwargs)


def tiny_daclip(**kwargs):
    kwargs.setdefault('vision_cfg', tiny_cfg())
    kwargs.setdefault('embed_dim', EMBED)
    kwargs.setdefault('random_init', True)
    return DACLIPEncoder(**kwargs)


def randomize_(module: nn.Module, seed: int = 0) -> None:
    """Fill every parameter with random values (zero linears included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.2)


def tiny_open_clip_model():
    """A real open_clip CLIP (with text tower) in the tiny configuration."""
    from open_clip.model import CLIP
    torch.manual_seed(0)
    return CLIP(
        embed_dim=EMBED,
        vision_cfg=tiny_cfg(),
        text_cfg=dict(
            context_length=8, vocab_size=50, width=16, heads=2, layers=1))


# DA-CLIP (github.com/Algolzw/daclip-uir, da-clip/src/open_clip/
# daclip_model.py + transformer.py) state dict layout, written out
# independently of the encoder's own mapping table: our key -> DA-CLIP keys.
def to_daclip_layout(state, alias=True, clip_visual=True):
    out = {}
    for key, value in state.items():
        if key.startswith('visual.'):
            rest = key[len('visual.'):]
            if clip_visual:
                out['clip.visual.' + rest] = value
            if alias:  # DaCLIP.visual is clip.visual: repeated in state dict
                out['visual.' + rest] = value.clone()
        elif key.startswith('controller.transformer.'):
            rest = key[len('controller.transformer.'):]
            out['visual_control.transformer.transformer.' + rest] = value
        elif key.startswith('controller.'):
            out['visual_control.' + key[len('controller.'):]] = value
        elif key.startswith('zero_linears.'):
            out['visual_control.transformer.zero_modules.' +
                key[len('zero_linears.'):]] = value
        else:
            raise AssertionError(key)
    # text tower and logit scales are ignored
    out['clip.token_embedding.weight'] = torch.randn(50, 16)
    out['clip.transformer.resblocks.0.attn.in_proj_weight'] = torch.randn(
        48, 16)
    out['clip.text_projection'] = torch.randn(16, EMBED)
    out['clip.logit_scale'] = torch.tensor(4.6)
    out['logit_scale'] = torch.tensor(4.6)
    return out


# --------------------------------------------------------------------------
# shapes and preprocessing


@pytest.mark.parametrize('size', [(67, 93), (16, 16), (5, 3), (32, 32)])
def test_shapes_odd_sizes(size):
    torch.manual_seed(0)
    img = torch.rand(5, 3, *size)
    clip = tiny_clip()
    out = clip(img)
    assert isinstance(out, EncoderOutput)
    assert out.cls.shape == (5, EMBED)
    assert out.tokens.shape == (5, 4, WIDTH)
    dac = tiny_daclip()
    content, degradation = dac.forward_both(img)
    for o in (content, degradation, dac(img)):
        assert isinstance(o, EncoderOutput)
        assert o.cls.shape == (5, EMBED)
        assert o.tokens.shape == (5, 4, WIDTH)
        assert torch.isfinite(o.cls).all() and torch.isfinite(o.tokens).all()
    cls, tokens = clip(img)  # unpacks like a plain tuple
    assert cls.shape == (5, EMBED)


def test_attributes():
    clip = tiny_clip(vision_cfg=tiny_cfg(image_size=64, patch_size=8))
    assert clip.embed_dim == EMBED
    assert clip.token_dim == WIDTH
    assert clip.grid_size == (8, 8)
    assert clip.image_size == (64, 64)
    assert clip.provides_content is False
    assert clip(torch.rand(2, 3, 20, 30)).tokens.shape == (2, 64, WIDTH)
    dac = tiny_daclip()
    assert dac.provides_content is True
    assert (dac.embed_dim, dac.token_dim, dac.grid_size) == (EMBED, WIDTH, (2,
                                                                            2))


def test_preprocess_and_batched_views():
    clip = tiny_clip()
    # normalisation with the OpenAI mean/std
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
    mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
    img = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(clip.preprocess(img), (img - mean) / std)
    assert clip.preprocess(mean.expand(1, 3, 9, 7)).abs().max() < 1e-5
    # views of different source sizes: preprocess each group, concatenate,
    # one call == separate calls
    a, b = torch.rand(2, 3, 48, 40), torch.rand(6, 3, 12, 10)
    views = torch.cat([clip.preprocess(a), clip.preprocess(b)])
    assert views.shape == (8, 3, 32, 32)
    joint = clip.forward_preprocessed(views)
    torch.testing.assert_close(joint.cls[:2], clip(a).cls)
    torch.testing.assert_close(joint.tokens[2:], clip(b).tokens)
    torch.testing.assert_close(clip.forward_preprocessed(views).cls, joint.cls)
    dac = tiny_daclip()
    content, degradation = dac.forward_both_preprocessed(views)
    torch.testing.assert_close(degradation.cls,
                               dac.forward_preprocessed(views).cls)
    torch.testing.assert_close(content.cls[2:], dac.forward_both(b)[0].cls)
    # The content tower runs only on the views whose content is read: the
    # same content for those, the same degradation side for all.
    batches = []
    handle = dac.visual.conv1.register_forward_hook(
        lambda m, i, o: batches.append(i[0].shape[0]))
    part, degradation2 = dac.forward_both_preprocessed(views, num_content=2)
    handle.remove()
    assert batches == [2] and part.cls.shape[0] == 2
    torch.testing.assert_close(part.cls, content.cls[:2])
    torch.testing.assert_close(part.tokens, content.tokens[:2])
    torch.testing.assert_close(degradation2.cls, degradation.cls)


def test_input_checks():
    clip = tiny_clip()
    with pytest.raises(ValueError, match='B, 3, H, W'):
        clip(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match='B, 3, H, W'):
        clip(torch.rand(3, 32, 32))
    with pytest.raises(TypeError, match='float'):
        clip(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match='preprocess'):
        clip.forward_preprocessed(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match='preprocess'):
        tiny_daclip().forward_both_preprocessed(torch.rand(1, 3, 16, 16))


def test_argument_checks():
    with pytest.raises(ValueError, match='invalid vision_cfg'):
        tiny_clip(vision_cfg=tiny_cfg(no_such_field=1))
    with pytest.raises(ValueError, match='Unknown open_clip model_name'):
        CLIPImageEncoder(model_name='no-such-model', random_init=True)
    with pytest.raises(ValueError, match='embed_dim'):
        tiny_clip(embed_dim=0)
    with pytest.raises(ValueError, match='ResNet'):
        tiny_clip(vision_cfg=tiny_cfg(layers=(1, 1, 1, 1)))
    with pytest.raises(ValueError, match='patch_dropout'):
        tiny_clip(vision_cfg=tiny_cfg(patch_dropout=0.5))
    with pytest.raises(TypeError, match='random_init'):
        tiny_clip(random_init=1)
    with pytest.raises(TypeError, match='train_controller'):
        tiny_daclip(train_controller='yes')
    with pytest.raises(TypeError, match='vision_cfg'):
        tiny_clip(vision_cfg=[1, 2])


def test_quick_gelu_from_named_config():
    from open_clip.transformer import QuickGELU
    enc = tiny_clip(model_name='ViT-B-32-quickgelu')
    assert enc.quick_gelu is True
    assert isinstance(enc.visual.transformer.resblocks[0].mlp.gelu, QuickGELU)
    assert tiny_clip().quick_gelu is False
    assert tiny_daclip(quick_gelu=True).quick_gelu is True


# --------------------------------------------------------------------------
# freezing and gradients


def test_frozen_clip_no_grad_and_eval():
    clip = tiny_clip()
    assert all(not p.requires_grad for p in clip.parameters())
    clip.train()
    assert clip.training and not clip.visual.training
    assert all(not m.training for m in clip.visual.modules())
    img = torch.rand(3, 3, 20, 24, requires_grad=True)
    out = clip(img)
    (out.cls.sum() + out.tokens.sum()).backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    assert all(p.grad is None for p in clip.parameters())
    clip.eval()
    assert not clip.training


def test_unfrozen_clip_trains():
    clip = tiny_clip(frozen=False).train()
    assert clip.visual.training
    assert all(p.requires_grad for p in clip.parameters())
    clip(torch.rand(2, 3, 32, 32)).cls.sum().backward()
    assert clip.visual.conv1.weight.grad is not None


def test_frozen_daclip_no_grad_and_eval():
    dac = tiny_daclip()
    randomize_(dac)
    assert all(not p.requires_grad for p in dac.parameters())
    dac.train()
    assert dac.training
    assert all(not m.training for m in dac.visual.modules())
    assert all(not m.training for m in dac.controller.modules())
    img = torch.rand(2, 3, 40, 33, requires_grad=True)
    content, degradation = dac.forward_both(img)
    (content.cls.sum() + degradation.cls.sum() +
     content.tokens.sum()).backward()
    assert img.grad is not None and img.grad.abs().sum() > 0
    assert all(p.grad is None for p in dac.parameters())


def test_daclip_train_controller():
    dac = tiny_daclip(train_controller=True)
    randomize_(dac)
    dac.train()
    assert dac.controller.training and not dac.visual.training
    assert all(not p.requires_grad for p in dac.visual.parameters())
    assert all(p.requires_grad for p in dac.controller.parameters())
    assert all(p.requires_grad for p in dac.zero_linears.parameters())
    content, degradation = dac.forward_both(torch.rand(2, 3, 32, 32))
    (content.cls.sum() + degradation.cls.sum()).backward()
    assert all(p.grad is None for p in dac.visual.parameters())
    assert dac.controller.conv1.weight.grad is not None
    assert dac.zero_linears[0].weight.grad is not None


# --------------------------------------------------------------------------
# DA-CLIP structure


def test_daclip_zero_controls_equal_plain_clip():
    torch.manual_seed(0)
    dac = tiny_daclip()
    randomize_(dac.visual, seed=1)
    randomize_(dac.controller, seed=2)
    # zero linears stay zero: the controlled tower is the plain tower
    assert all((p == 0).all() for p in dac.zero_linears.parameters())
    plain = tiny_clip()
    plain.visual.load_state_dict(dac.visual.state_dict())
    ctrl_plain = tiny_clip()
    ctrl_plain.visual.load_state_dict(dac.controller.state_dict())
    img = torch.rand(4, 3, 45, 37)
    content, degradation = dac.forward_both(img)
    ref = plain(img)
    torch.testing.assert_close(content.cls, ref.cls)
    torch.testing.assert_close(content.tokens, ref.tokens)
    ref_d = ctrl_plain(img)
    torch.testing.assert_close(degradation.cls, ref_d.cls)
    torch.testing.assert_close(degradation.tokens, ref_d.tokens)
    torch.testing.assert_close(dac(img).cls, ref_d.cls)
    # non-zero controls change the content side only
    randomize_(dac.zero_linears, seed=3)
    content2, degradation2 = dac.forward_both(img)
    assert not torch.allclose(content2.cls, ref.cls, atol=1e-4)
    assert not torch.allclose(content2.tokens, ref.tokens, atol=1e-4)
    torch.testing.assert_close(degradation2.cls, ref_d.cls)


def test_daclip_random_init_copies_tower_into_controller():
    dac = tiny_daclip()
    for (name, a), (_, b) in zip(dac.visual.state_dict().items(),
                                 dac.controller.state_dict().items()):
        assert torch.equal(a, b), name
    img = torch.rand(2, 3, 32, 32)
    content, degradation = dac.forward_both(img)
    torch.testing.assert_close(content.cls, degradation.cls)


def test_daclip_control_order_reversed():
    """Controller block i's control is added to the OUTPUT of CLIP block
    L-1-i (DA-CLIP pops the list of controls)."""
    dac = tiny_daclip(vision_cfg=tiny_cfg(layers=3))
    randomize_(dac)
    captured = {}

    def keep(name):

        def hook(module, args, output):
            captured[name] = output

        return hook

    for i, blk in enumerate(dac.controller.transformer.resblocks):
        blk.register_forward_hook(keep(f'c{i}'))
    for i, blk in enumerate(dac.visual.transformer.resblocks):
        blk.register_forward_pre_hook(
            lambda m, args, i=i: captured.__setitem__(f'in{i}', args[0]))
        blk.register_forward_hook(keep(f'out{i}'))
    content, _ = dac.forward_both(torch.rand(2, 3, 32, 32))
    lin = dac.zero_linears
    # block 0 output + control of controller block 2 -> input of block 1
    torch.testing.assert_close(captured['in1'],
                               captured['out0'] + lin[2](captured['c2']))
    torch.testing.assert_close(captured['in2'],
                               captured['out1'] + lin[1](captured['c1']))
    final = captured['out2'] + lin[0](captured['c0'])
    ref = dac._run_tower_tail(dac.visual, final)
    torch.testing.assert_close(content.cls, ref.cls)
    torch.testing.assert_close(content.tokens, ref.tokens)


def test_forward_both_runs_each_tower_once():
    dac = tiny_daclip()
    calls = {}

    def count(name):

        def hook(module, args, output):
            calls[name] = calls.get(name, 0) + 1

        return hook

    for prefix, tower in (('v', dac.visual), ('c', dac.controller)):
        tower.conv1.register_forward_hook(count(f'{prefix}.conv1'))
        tower.ln_post.register_forward_hook(count(f'{prefix}.ln_post'))
        for i, blk in enumerate(tower.transformer.resblocks):
            blk.register_forward_hook(count(f'{prefix}.block{i}'))
    for i, linear in enumerate(dac.zero_linears):
        linear.register_forward_hook(count(f'zero{i}'))
    dac.forward_both(torch.rand(6, 3, 50, 50))
    assert set(calls.values()) == {1}
    assert len(calls) == 2 * (2 + 2) + 2
    calls.clear()
    dac(torch.rand(6, 3, 50, 50))  # degradation only: controller only
    assert all(name.startswith('c.') for name in calls)
    assert set(calls.values()) == {1}


# --------------------------------------------------------------------------
# checkpoints


@pytest.mark.parametrize('wrap', ['plain', 'state_dict_module'])
def test_clip_checkpoint_openclip_layout(tmp_path, wrap):
    model = tiny_open_clip_model()
    state = model.state_dict()
    assert any(k.startswith('transformer.') for k in state)  # text keys
    if wrap == 'state_dict_module':
        state = {
            'epoch': 3,
            'state_dict': {
                'module.' + k: v
                for k, v in state.items()
            }
        }
    path = tmp_path / 'clip.pt'
    torch.save(state, path)
    enc = tiny_clip(checkpoint=str(path), random_init=False)
    img = torch.rand(3, 3, 41, 29)
    out = enc(img)
    with torch.no_grad():
        ref = model.encode_image(enc.preprocess(img))
    torch.testing.assert_close(out.cls, ref)
    assert enc.quick_gelu is False


def test_clip_checkpoint_jit_archive(tmp_path):
    """OpenAI's original release is a TorchScript archive (QuickGELU)."""
    model = tiny_open_clip_model()

    class Holder(nn.Module):

        def __init__(self):
            super().__init__()
            self.visual = copy.deepcopy(model.visual)

        def forward(self, x):
            return self.visual(x)

    traced = torch.jit.trace(
        Holder().eval(), torch.rand(1, 3, 32, 32), check_trace=False)
    path = tmp_path / 'ViT-tiny.pt'
    torch.jit.save(traced, str(path))
    enc = tiny_clip(checkpoint=str(path), random_init=False)
    assert enc.quick_gelu is True
    torch.testing.assert_close(enc.visual.proj, model.visual.proj)


def test_clip_checkpoint_safetensors(tmp_path):
    from safetensors.torch import save_file
    model = tiny_open_clip_model()
    path = tmp_path / 'clip.safetensors'
    save_file({
        k: v.contiguous()
        for k, v in model.state_dict().items()
    }, str(path))
    enc = tiny_clip(checkpoint=str(path), random_init=False)
    torch.testing.assert_close(enc.visual.conv1.weight,
                               model.visual.conv1.weight)


def test_daclip_checkpoint_layout(tmp_path):
    src = tiny_daclip()
    randomize_(src, seed=5)
    img = torch.rand(3, 3, 30, 50)
    ref_c, ref_d = src.forward_both(img)
    layouts = {
        'plain': to_daclip_layout(src.state_dict()),
        'wrapped': {
            'state_dict': {
                'module.' + k: v
                for k, v in to_daclip_layout(src.state_dict()).items()
            }
        },
        'alias_only': to_daclip_layout(src.state_dict(), clip_visual=False),
        'no_alias': to_daclip_layout(src.state_dict(), alias=False),
    }
    for name, state in layouts.items():
        path = tmp_path / f'daclip_{name}.pt'
        torch.save(state, path)
        enc = tiny_daclip(checkpoint=str(path), random_init=False)
        content, degradation = enc.forward_both(img)
        torch.testing.assert_close(content.cls, ref_c.cls, msg=name)
        torch.testing.assert_close(content.tokens, ref_c.tokens, msg=name)
        torch.testing.assert_close(degradation.cls, ref_d.cls, msg=name)
        assert all(not p.requires_grad for p in enc.parameters())


def test_daclip_checkpoint_errors(tmp_path):
    src = tiny_daclip()
    state = to_daclip_layout(src.state_dict())
    # a missing zero linear
    broken = dict(state)
    del broken['visual_control.transformer.zero_modules.1.weight']
    path = tmp_path / 'missing.pt'
    torch.save(broken, path)
    with pytest.raises(ValueError, match=r'missing keys: zero_linears\.1'):
        tiny_daclip(checkpoint=str(path), random_init=False)
    # an unknown controller key
    broken = dict(state)
    broken['visual_control.transformer.something.weight'] = torch.zeros(1)
    torch.save(broken, path)
    with pytest.raises(ValueError, match='unknown keys: controller'):
        tiny_daclip(checkpoint=str(path), random_init=False)
    # a plain CLIP checkpoint is not a DA-CLIP checkpoint
    torch.save(tiny_open_clip_model().state_dict(), path)
    with pytest.raises(ValueError, match='not a DA-CLIP checkpoint'):
        tiny_daclip(checkpoint=str(path), random_init=False)
    # architecture mismatch
    torch.save(state, path)
    with pytest.raises(ValueError, match='shape mismatches'):
        tiny_daclip(
            checkpoint=str(path),
            random_init=False,
            vision_cfg=tiny_cfg(width=64))


@pytest.mark.parametrize('cls', [CLIPImageEncoder, DACLIPEncoder])
def test_missing_checkpoint_errors(tmp_path, cls):
    kwargs = dict(vision_cfg=tiny_cfg(), embed_dim=EMBED)
    key = 'degradation_encoder.checkpoint'
    missing = str(tmp_path / 'nope.pt')
    with pytest.raises(FileNotFoundError) as err:
        cls(checkpoint=missing, config_key=key, **kwargs)
    msg = str(err.value)
    assert key in msg and 'checkpoint' in msg and missing in msg
    assert 'download' in msg and 'local path' in msg
    with pytest.raises(ValueError) as err:
        cls(config_key=key, **kwargs)  # no checkpoint, random_init False
    msg = str(err.value)
    assert key in msg and 'checkpoint' in msg and 'download' in msg
    # corrupted file
    bad = tmp_path / 'corrupt.pt'
    bad.write_bytes(b'this is not a checkpoint' * 10)
    with pytest.raises(ValueError, match='cannot read checkpoint file') as err:
        cls(checkpoint=str(bad), config_key=key, **kwargs)
    assert str(bad) in str(err.value) and key in str(err.value)
    # random_init ignores the checkpoint
    cls(checkpoint=missing, random_init=True, **kwargs)


def test_clip_checkpoint_without_visual_keys(tmp_path):
    path = tmp_path / 'text_only.pt'
    torch.save({'transformer.weight': torch.zeros(2)}, path)
    with pytest.raises(ValueError, match='no `visual'):
        tiny_clip(checkpoint=str(path), random_init=False)


def test_init_weights_reloads_checkpoint(tmp_path):
    model = tiny_open_clip_model()
    path = tmp_path / 'clip.pt'
    torch.save(model.state_dict(), path)

    enc = tiny_clip(checkpoint=str(path), random_init=False)
    with torch.no_grad():  # e.g. a parent's init_cfg re-initialised it
        enc.visual.conv1.weight.zero_()
    enc.init_weights()
    torch.testing.assert_close(enc.visual.conv1.weight,
                               model.visual.conv1.weight)
    assert not enc.visual.conv1.weight.requires_grad


# --------------------------------------------------------------------------
# registry


def test_build_from_registry_vit_b_32():
    enc = MODELS.build(
        dict(type='CLIPImageEncoder', model_name='ViT-B-32', random_init=True))
    assert isinstance(enc, CLIPImageEncoder)
    assert enc.grid_size == (7, 7) and enc.image_size == (224, 224)
    assert enc.embed_dim == 512 and enc.token_dim == 768
    with torch.no_grad():
        out = enc(torch.rand(1, 3, 40, 60))
    assert out.cls.shape == (1, 512) and out.tokens.shape == (1, 49, 768)
    del enc
    dac = MODELS.build(
        dict(type='DACLIPEncoder', model_name='ViT-B-32', random_init=True))
    assert isinstance(dac, DACLIPEncoder)
    assert dac.grid_size == (7, 7) and dac.embed_dim == 512
    assert len(dac.zero_linears) == 12
    assert dac.quick_gelu is False  # DA-CLIP's towers use GELU


def test_build_tiny_from_registry():
    dac = MODELS.build(
        dict(
            type='DACLIPEncoder',
            vision_cfg=tiny_cfg(),
            embed_dim=EMBED,
            random_init=True,
            config_key='degradation_encoder.checkpoint'))
    assert dac.config_key == 'degradation_encoder.checkpoint'
    assert dac(torch.rand(2, 3, 8, 8)).cls.shape == (2, EMBED)
