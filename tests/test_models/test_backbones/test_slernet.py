from collections import Counter

import sler_ir_mm  # noqa: F401,I001  (runtime fixes before mmagic)
import pytest
import torch
from mmagic.models.editors.restormer.restormer_net import Restormer
from mmagic.registry import MODELS
from mmengine.registry import DefaultScope

from sler_ir_mm.models.backbones.slernet import ExpertStack, SLERNet

TINY = dict(
    dim=8,
    num_blocks=(1, 1, 1, 1),
    num_refinement_blocks=1,
    heads=(1, 1, 2, 2))


def tiny_restormer(**kwargs) -> Restormer:
    cfg = dict(TINY, **kwargs)
    cfg['num_blocks'] = list(cfg['num_blocks'])
    cfg['heads'] = list(cfg['heads'])
    return Restormer(**cfg).eval()


def tiny_slernet(num_experts: int, **kwargs) -> SLERNet:
    return SLERNet(num_experts=num_experts, **TINY, **kwargs).eval()


def hard(batch: int, expert: int = 0) -> torch.Tensor:
    return torch.full((batch, 8), expert, dtype=torch.long)


def count_expert_calls(net: SLERNet) -> Counter:
    """Counter of (layer, expert) -> calls, and batch sizes seen."""
    calls: Counter = Counter()
    for layer, stack in enumerate(net.routed_layers):
        for e, expert in enumerate(stack.experts):

            def hook(module, args, output, key=(layer, e)):
                calls[key] += 1
                calls[key + ('samples', )] += args[0].size(0)

            expert.register_forward_hook(hook)
    return calls


def test_full_config_parameter_count():
    net = SLERNet(num_experts=1)
    assert sum(p.numel() for p in net.parameters()) == 26_126_644
    assert net.num_routed_layers == 8
    assert net.ROUTED_LAYERS == (
        'encoder_level1', 'encoder_level2', 'encoder_level3', 'latent',
        'decoder_level3', 'decoder_level2', 'decoder_level1', 'refinement')
    assert net.size_divisor == 8
    assert 'encoder_level1.experts.0.0.norm1.body.weight' in net.state_dict()


def test_expert_count_scales_only_block_stacks():
    nets = [tiny_slernet(c) for c in (1, 3)]
    counts = [sum(p.numel() for p in n.parameters()) for n in nets]
    stacks = sum(
        p.numel() for layer in nets[0].routed_layers
        for p in layer.parameters())
    assert counts[1] == counts[0] + 2 * stacks
    # Each expert is an independent copy.
    a = nets[1].encoder_level1.experts[0][0].attn.qkv.weight
    b = nets[1].encoder_level1.experts[1][0].attn.qkv.weight
    assert a.data_ptr() != b.data_ptr()


@pytest.mark.parametrize('wrap', ['plain', 'params', 'params_ema', 'mmagic'])
def test_single_expert_matches_restormer(wrap):
    torch.manual_seed(0)
    restormer = tiny_restormer()
    sd = restormer.state_dict()
    ckpt = {
        'plain': sd,
        'params': {
            'params': sd
        },
        'params_ema': {
            'params_ema': sd
        },
        'mmagic': {
            'meta': {},
            'state_dict': {'generator.' + k: v
                           for k, v in sd.items()}
        },
    }[wrap]
    torch.manual_seed(1)
    net = tiny_slernet(1)
    info = net.load_restormer_weights(ckpt)
    assert len(info.loaded_keys) == len(sd)
    assert not info.missing_keys and not info.unexpected_keys
    for h, w in ((16, 16), (20, 28)):
        x = torch.rand(2, 3, h, w)
        with torch.no_grad():
            ref = restormer(x)
            out = net(x, hard(2))
        assert out.shape == ref.shape == (2, 3, h, w)
        assert (out - ref).abs().max() < 1e-5


def test_dual_pixel_matches_restormer():
    torch.manual_seed(0)
    restormer = tiny_restormer(
        inp_channels=6, dual_pixel_task=True, dual_keys=['imgL', 'imgR'])
    net = tiny_slernet(1, inp_channels=6, dual_pixel_task=True)
    net.load_restormer_weights(restormer.state_dict())
    x = dict(imgL=torch.rand(1, 3, 16, 24), imgR=torch.rand(1, 3, 16, 24))
    with torch.no_grad():
        assert (net(x, hard(1)) - restormer(x)).abs().max() < 1e-5


def test_load_into_one_expert():
    torch.manual_seed(0)
    restormer = tiny_restormer()
    net = tiny_slernet(3)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    info = net.load_restormer_weights(restormer.state_dict(), experts=[1])
    assert info.experts == [1]
    sd = restormer.state_dict()
    after = net.state_dict()
    for name in net.ROUTED_LAYERS:
        for k, v in sd.items():
            if k.startswith(name + '.'):
                rest = k[len(name) + 1:]
                assert torch.equal(after[f'{name}.experts.1.{rest}'], v)
                for e in (0, 2):
                    key = f'{name}.experts.{e}.{rest}'
                    assert torch.equal(after[key], before[key])
    assert torch.equal(after['patch_embed.proj.weight'],
                       sd['patch_embed.proj.weight'])
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert (net(x, hard(2, 1)) - restormer(x)).abs().max() < 1e-5


def test_load_each_expert_from_its_own_checkpoint():
    torch.manual_seed(0)
    sources = [tiny_restormer() for _ in range(2)]
    net = tiny_slernet(2)
    for e, src in enumerate(sources):
        net.load_restormer_weights(src.state_dict(), experts=[e])
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        # Shared parts come from the last checkpoint.
        assert (net(x, hard(1, 1)) - sources[1](x)).abs().max() < 1e-5
        w0 = net.latent.experts[0][0].ffn.project_in.weight
        assert torch.equal(w0, sources[0].latent[0].ffn.project_in.weight)


def test_load_from_path_without_shared(tmp_path):
    torch.manual_seed(0)
    restormer = tiny_restormer()
    path = tmp_path / 'restormer.pth'
    torch.save({'params': restormer.state_dict()}, path)
    net = tiny_slernet(2)
    embed = net.patch_embed.proj.weight.clone()
    info = net.load_restormer_weights(str(path), load_shared=False)
    assert torch.equal(net.patch_embed.proj.weight, embed)
    assert all('.experts.' in k for k in info.loaded_keys)
    assert torch.equal(net.refinement.experts[1][0].attn.qkv.weight,
                       restormer.refinement[0].attn.qkv.weight)


def test_load_errors():
    net = tiny_slernet(2)
    other = tiny_restormer(dim=16)
    with pytest.raises(RuntimeError, match='shape-mismatched'):
        net.load_restormer_weights(other.state_dict())
    sd = dict(tiny_restormer().state_dict())
    sd.pop('output.weight')
    sd['foo.weight'] = torch.zeros(1)
    with pytest.raises(RuntimeError, match='missing.*output.weight'):
        net.load_restormer_weights(sd)
    with pytest.raises(RuntimeError, match='unexpected.*foo.weight'):
        net.load_restormer_weights(sd)
    info = net.load_restormer_weights(sd, strict=False)
    assert info.missing_keys == ['output.weight']
    assert info.unexpected_keys == ['foo.weight']
    with pytest.raises(ValueError, match='experts'):
        net.load_restormer_weights(tiny_restormer().state_dict(), experts=[2])


def test_hard_routing_sparse_dispatch():
    torch.manual_seed(0)
    net = tiny_slernet(3)
    routing = torch.tensor([
        [0, 1, 1, 2, 0, 0, 1, 2],
        [2, 1, 1, 2, 1, 0, 1, 0],
        [0, 1, 1, 2, 1, 2, 1, 0],
    ])
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        singles = torch.cat(
            [net(x[i:i + 1], routing[i:i + 1]) for i in range(3)])
        calls = count_expert_calls(net)
        out = net(x, routing)
    assert (out - singles).abs().max() < 1e-5
    for layer in range(8):
        chosen = Counter(routing[:, layer].tolist())
        for e in range(3):
            # Unused experts never run, used ones run once on their samples.
            assert calls[(layer, e)] == (1 if e in chosen else 0)
            assert calls[(layer, e, 'samples')] == chosen.get(e, 0)


def test_feature_hook():
    torch.manual_seed(0)
    net = tiny_slernet(2)
    x = torch.rand(2, 3, 16, 16)
    seen = []

    def record(layer, feat):
        seen.append((layer, tuple(feat.shape)))
        return feat

    with torch.no_grad():
        plain = net(x, hard(2))
        assert torch.equal(net(x, hard(2), feature_hook=record), plain)
        assert [s[0] for s in seen] == list(range(8))
        assert seen[3][1] == (2, 64, 2, 2)  # latent: 8 * dim at 1/8
        shifted = net(x, hard(2), feature_hook=lambda i, f: f + float(i == 7))
        assert not torch.allclose(shifted, plain)
        with pytest.raises(ValueError, match='feature_hook'):
            net(x, hard(2), feature_hook=lambda i, f: f[:, :1])


def test_soft_routing_gradient_masking():
    torch.manual_seed(0)
    net = tiny_slernet(3).train()
    logits = torch.randn(2, 8, 3)
    logits[0, :, 0] += 10  # sample 0: expert 0 wins everywhere
    logits[1, :, 1] += 10  # sample 1: expert 1 wins everywhere
    logits[1, 2, 2] += 20  # ... except at layer 2
    probs = logits.softmax(-1).requires_grad_()
    x = torch.rand(2, 3, 16, 16)
    net(x, probs).abs().mean().backward()
    winners = probs.detach().argmax(-1)
    for layer in range(8):
        for e in range(3):
            grads = [p.grad for p in net.expert_parameters(layer, e)]
            if (winners[:, layer] == e).any():
                assert all(g is not None for g in grads)
                assert any(g.abs().sum() > 0 for g in grads)
            else:
                assert all(g is None or not g.any() for g in grads)
    assert probs.grad is not None and probs.grad.abs().sum() > 0
    # The shared parts learn as usual.
    assert net.patch_embed.proj.weight.grad.abs().sum() > 0


def test_expert_stack_soft_mixture_and_masking():
    torch.manual_seed(0)
    stack = ExpertStack(2, 1, 8, 2, 2.66, False, 'WithBias')
    x = torch.rand(2, 8, 4, 4, requires_grad=True)
    probs = torch.tensor([[0.7, 0.3], [0.4, 0.6]], requires_grad=True)
    out = stack(x, probs)
    with torch.no_grad():
        dense = sum(probs[:, j, None, None, None] * stack.experts[j](x)
                    for j in range(2))
    assert (out - dense).abs().max() < 1e-6
    out.sum().backward()
    grad_batch = [p.grad.clone() for p in stack.experts[0].parameters()]
    x_grad = x.grad.clone()
    assert probs.grad.abs().min() > 0  # every probability gets a gradient
    # Expert 0 wins only sample 0: its gradient is sample 0's alone, and
    # x receives gradient only through each sample's winner.
    stack.zero_grad()
    x0 = x.detach()[:1].requires_grad_()
    stack(x0, probs.detach()[:1]).sum().backward()
    for g, g0 in zip(grad_batch, stack.experts[0].parameters()):
        assert torch.allclose(g, g0.grad, atol=1e-6)
    assert torch.allclose(x_grad[:1], x0.grad, atol=1e-6)
    x1 = x.detach()[1:].requires_grad_()
    y1 = stack.experts[1](x1) * probs.detach()[1, 1]
    y1.sum().backward()
    assert torch.allclose(x_grad[1:], x1.grad, atol=1e-6)


def test_soft_routing_equivalences():
    torch.manual_seed(0)
    x = torch.rand(3, 3, 16, 16)
    single = tiny_slernet(1)
    with torch.no_grad():
        assert torch.equal(
            single(x, torch.ones(3, 8, 1)), single(x, hard(3)))
    net = tiny_slernet(3)
    routing = torch.randint(0, 3, (3, 8))
    one_hot = torch.nn.functional.one_hot(routing, 3).float()
    with torch.no_grad():
        diff = net(x, one_hot) - net(x, routing)
    assert diff.abs().max() < 1e-5


@pytest.mark.parametrize(
    'routing',
    [
        torch.zeros(2, 8),  # float without the expert axis
        torch.zeros(2, 7, dtype=torch.long),
        torch.zeros(3, 8, dtype=torch.long),  # batch mismatch
        torch.full((2, 8), 3, dtype=torch.long),  # index out of range
        torch.full((2, 8), -1, dtype=torch.long),
        torch.zeros(2, 8, dtype=torch.bool),
        torch.zeros(2, 8, 2),  # wrong number of experts
        torch.full((2, 8, 3), float('nan')),
        [[0] * 8] * 2,
    ])
def test_bad_routing(routing):
    net = tiny_slernet(3)
    with pytest.raises(ValueError, match='routing'):
        net(torch.rand(2, 3, 16, 16), routing)


@pytest.mark.parametrize('kwargs', [
    dict(num_experts=0),
    dict(num_experts=1.5),
    dict(num_blocks=(1, 1, 1)),
    dict(heads=(1, 2, 4)),
    dict(heads=(3, 1, 1, 1)),
    dict(dim=7),
    dict(LayerNorm_type='Foo'),
    dict(out_channels=1),
])
def test_bad_constructor_args(kwargs):
    with pytest.raises(ValueError):
        SLERNet(**dict(TINY, **kwargs))


def test_registry_build():
    with DefaultScope.overwrite_default_scope('mmagic'):
        net = MODELS.build(dict(type='SLERNet', num_experts=2, **TINY))
    assert isinstance(net, SLERNet) and net.num_experts == 2
    assert len(net.encoder_level1.experts) == 2


def test_restormer_weights_module():
    """The conversion lives in restormer_weights; SLERNet's method
    delegates to it."""
    from sler_ir_mm.models.backbones import restormer_weights
    torch.manual_seed(0)
    restormer = tiny_restormer()
    a, b = tiny_slernet(2), tiny_slernet(2)
    b.load_state_dict(a.state_dict())
    info_a = a.load_restormer_weights(restormer.state_dict(), experts=[1])
    info_b = restormer_weights.load_restormer_weights(
        b, restormer.state_dict(), experts=[1])
    assert isinstance(info_a, restormer_weights.RestormerLoadInfo)
    assert info_a == info_b
    for (k, va), (_, vb) in zip(a.state_dict().items(),
                                b.state_dict().items()):
        assert torch.equal(va, vb), k


def test_load_param_key_and_editor_layouts(tmp_path):
    torch.manual_seed(0)
    restormer = tiny_restormer()
    sd = restormer.state_dict()
    # An MMagic editor saved under DDP: only the generator's weights count.
    editor = {
        'state_dict': {
            **{f'module.generator.{k}': v
               for k, v in sd.items()},
            'module.router.centers': torch.zeros(3, 8),
        },
        'meta': {},
    }
    net = tiny_slernet(1)
    info = net.load_restormer_weights(editor)
    assert len(info.loaded_keys) == len(sd) and not info.unexpected_keys
    # param_key picks the entry, whatever else the checkpoint has.
    ckpt = {'params': {'foo': torch.zeros(1)}, 'params_ema': sd}
    with pytest.raises(RuntimeError, match='unexpected.*foo'):
        net.load_restormer_weights(ckpt)
    info = net.load_restormer_weights(ckpt, param_key='params_ema')
    assert len(info.loaded_keys) == len(sd)
    with pytest.raises(KeyError, match="param_key 'ema' not in checkpoint"):
        net.load_restormer_weights(ckpt, param_key='ema')
    with pytest.raises(TypeError, match='mapping or a checkpoint path'):
        net.load_restormer_weights([sd])


def test_load_from_unreadable_path(tmp_path):
    from sler_ir_mm.utils.checkpoint_io import CheckpointReadError
    net = tiny_slernet(1)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        net.load_restormer_weights(str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint' * 4)
    with pytest.raises(CheckpointReadError,
                       match='cannot read Restormer checkpoint .*bad.pth'):
        net.load_restormer_weights(bad)
