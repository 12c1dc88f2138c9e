"""Injection of GLGF's restoration prior into the routed backbone layers.

The prior (N = h * w tokens, built by :class:`~.glgf.GLGF`) enters each
injected layer through a :class:`PriorInjection`: the prior tokens, aligned to
the layer's channels, are the queries of a cross-attention over the layer's
(normalised) features; the N updated tokens are projected (zero-initialised),
laid out on the (h, w) grid, bilinearly resized to the feature resolution and
added to the features. A freshly initialised injection is therefore exactly
the identity on the backbone.

Arguments are checked where they enter: the prior and its grid once when a
feature hook is made (:func:`make_injection_hook`), not again for each layer
of each forward.
"""
import numbers
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from sler_ir_mm.utils import check_int

__all__ = [
    'PriorInjection', 'build_injections', 'check_grid_hw',
    'check_injection_layout', 'check_layer_features', 'check_prior',
    'check_tensor', 'inject_checked', 'make_injection_hook'
]

GridHW = Union[Tuple[int, int], Sequence[int]]
FeatureHook = Callable[[int, Tensor], Tensor]


def check_grid_hw(grid_hw: GridHW,
                  num_tokens: Optional[int] = None,
                  what: str = 'tokens') -> Tuple[int, int]:
    """Validate a (h, w) patch grid, optionally against a token count.

    Args:
        grid_hw (Sequence[int]): The grid (h, w).
        num_tokens (int, optional): Tokens that must fill the grid.
        what (str): What the tokens are, for the message.

    Returns:
        tuple[int, int]: (h, w) as Python ints.
    """
    if isinstance(grid_hw, torch.Size):
        grid_hw = tuple(grid_hw)
    if not isinstance(grid_hw, (tuple, list)) or len(grid_hw) != 2:
        raise ValueError(
            f'grid_hw must be a pair (h, w) of positive ints, got {grid_hw!r}')
    h, w = grid_hw
    for name, value in (('h', h), ('w', w)):
        if isinstance(value, bool) or not isinstance(
                value, numbers.Integral) or value < 1:
            raise ValueError(f'grid_hw must be a pair (h, w) of positive '
                             f'ints, got {name}={value!r} in {grid_hw!r}')
    h, w = int(h), int(w)
    if num_tokens is not None and h * w != num_tokens:
        raise ValueError(
            f'the number of {what} ({num_tokens}) must equal h * w of '
            f'grid_hw {(h, w)} = {h * w}')
    return h, w


def check_tensor(name: str, x: Tensor, ndim: int, shape_doc: str) -> None:
    """Raise unless ``x`` is a tensor with ``ndim`` dimensions."""
    if not isinstance(x, Tensor):
        raise TypeError(f'{name} must be a Tensor of shape {shape_doc}, got '
                        f'{type(x).__name__}')
    if x.dim() != ndim:
        raise ValueError(f'{name} must have shape {shape_doc}, got '
                         f'{tuple(x.shape)}')


def check_prior(prior: Tensor, prior_dim: int,
                grid_hw: GridHW) -> Tuple[int, int]:
    """Validate a (B, N, prior_dim) prior and its grid; return (h, w)."""
    check_tensor('prior', prior, 3, '(B, N, prior_dim)')
    if prior.shape[2] != prior_dim:
        raise ValueError(f'prior must have {prior_dim} channels, '
                         f'got {tuple(prior.shape)}')
    return check_grid_hw(grid_hw, prior.shape[1], 'prior tokens')


def check_layer_features(layer_index: int, feat: Tensor,
                         layer_channels: Sequence[int]) -> None:
    """Validate a routed layer's index and its (B, C_l, H, W) features."""
    num_layers = len(layer_channels)
    if isinstance(layer_index, bool) or not isinstance(
            layer_index, numbers.Integral) or not (0 <= layer_index <
                                                   num_layers):
        raise ValueError(f'layer_index must be an int in [0, '
                         f'{num_layers}), got {layer_index!r}')
    check_tensor(f'feat of layer {layer_index}', feat, 4, '(B, C, H, W)')
    channels = layer_channels[layer_index]
    if feat.shape[1] != channels:
        raise ValueError(
            f'layer {layer_index}: expected features with {channels} '
            f'channels (layer_channels[{layer_index}]), got '
            f'{tuple(feat.shape)}')


def _check_batch(layer_index: int, feat: Tensor, prior: Tensor) -> None:
    if prior.shape[0] != feat.shape[0]:
        raise ValueError(
            f'layer {layer_index}: batch of prior ({prior.shape[0]}) '
            f'differs from batch of features ({feat.shape[0]})')


def check_injection_layout(
        layer_channels: Sequence[int], inject_layers: Optional[Sequence[int]],
        inject_heads: Union[int, Sequence[int]]
) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Validate which layers receive the prior and with how many heads.

    Args:
        layer_channels (Sequence[int]): Channels of the routed layers.
        inject_layers (Sequence[int], optional): Injected layer indices;
            None means all layers.
        inject_heads (int | Sequence[int]): Heads for all layers, or one
            value per layer; must divide the injected layers' channels.

    Returns:
        tuple: The sorted injected layer indices and the heads per layer.
    """
    if isinstance(layer_channels, (str, bytes)) or not isinstance(
            layer_channels, Sequence) or len(layer_channels) == 0:
        raise ValueError('layer_channels must be a non-empty sequence of '
                         f'positive ints, got {layer_channels!r}')
    for i, ch in enumerate(layer_channels):
        check_int(f'layer_channels[{i}]', ch)
    num_layers = len(layer_channels)

    if inject_layers is None:
        inject_layers = tuple(range(num_layers))
    if isinstance(inject_layers, (str, bytes)) or not isinstance(
            inject_layers, Sequence):
        raise ValueError('inject_layers must be a sequence of layer '
                         f'indices, got {inject_layers!r}')
    for idx in inject_layers:
        if isinstance(idx, bool) or not isinstance(
                idx, numbers.Integral) or not 0 <= idx < num_layers:
            raise ValueError(
                f'inject_layers must hold layer indices in '
                f'[0, {num_layers}), got {idx!r} in {inject_layers!r}')
    if len(set(inject_layers)) != len(inject_layers):
        raise ValueError(f'inject_layers has duplicates: {inject_layers!r}')

    if isinstance(inject_heads, numbers.Integral) and not isinstance(
            inject_heads, bool):
        heads_per_layer = [int(inject_heads)] * num_layers
    elif isinstance(inject_heads, Sequence) and not isinstance(
            inject_heads, (str, bytes)):
        if len(inject_heads) != num_layers:
            raise ValueError(
                f'inject_heads must be an int or one int per routed '
                f'layer ({num_layers}), got {inject_heads!r}')
        heads_per_layer = list(inject_heads)
    else:
        raise ValueError('inject_heads must be an int or a sequence of '
                         f'ints, got {inject_heads!r}')
    for i, heads in enumerate(heads_per_layer):
        check_int(f'inject_heads[{i}]', heads)
        if i in inject_layers and layer_channels[i] % heads != 0:
            raise ValueError(
                f'layer {i}: channels ({layer_channels[i]}) must be '
                f'divisible by inject_heads ({heads})')
    return (tuple(sorted(int(i) for i in inject_layers)),
            tuple(int(h) for h in heads_per_layer))


class PriorInjection(nn.Module):
    """Injects the restoration prior into one backbone layer.

    ``q = Linear(LN(prior))`` (prior_dim -> C: the alignment to the layer's
    channels, which is also the query projection);
    ``k, v = Linear(LN(feat))`` on the flattened features (per-pixel
    LayerNorm over channels; computed with the projections folded into the
    queries and outputs, see :meth:`forward`); ``u = Attn(q, k, v)`` gives
    N tokens of C channels; ``delta = out_proj(u)`` (zero-initialised) is
    laid out on the (h, w) prior grid and bilinearly resized to (H, W);
    ``feat + delta``.

    The output projection acts on the N tokens before the resize: a per-pixel
    linear map commutes with bilinear interpolation (its weights sum to 1),
    so this equals a 1x1 conv after the resize at N / (H * W) of the cost.

    Args:
        prior_dim (int): Channels of the prior tokens.
        channels (int): Channels C of the layer's features.
        num_heads (int): Attention heads; must divide ``channels``.
    """

    def __init__(self, prior_dim: int, channels: int, num_heads: int) -> None:
        super().__init__()
        if channels % num_heads != 0:
            raise ValueError(f'channels ({channels}) must be divisible by '
                             f'num_heads ({num_heads})')
        self.channels = channels
        self.num_heads = num_heads
        self.prior_norm = nn.LayerNorm(prior_dim)
        self.q_proj = nn.Linear(prior_dim, channels)
        self.feat_norm = nn.LayerNorm(channels)
        self.kv_proj = nn.Linear(channels, 2 * channels)
        self.out_proj = nn.Linear(channels, channels)
        self.reset_out_proj()

    def reset_out_proj(self) -> None:
        """Zero the output projection: the injection becomes the identity."""
        nn.init.zeros_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, feat: Tensor, prior: Tensor,
                grid_hw: Tuple[int, int]) -> Tensor:
        """Add the prior's update to the features (arguments unchecked).

        Args:
            feat (Tensor): (B, C, H, W) features of the layer.
            prior (Tensor): (B, N, prior_dim) prior tokens.
            grid_hw (tuple[int, int]): The prior's grid, h * w == N.

        Returns:
            Tensor: (B, C, H, W) features with the prior injected.
        """
        b, c, height, width = feat.shape
        n = prior.shape[1]
        heads, head_dim = self.num_heads, c // self.num_heads
        # (B, N, C) -> (B, heads, N, hd)
        q = self.q_proj(self.prior_norm(prior))
        q = q.view(b, n, heads, head_dim).transpose(1, 2)
        # The key/value projections are folded into the N queries and the N
        # outputs instead of being applied to all H*W pixels:
        #   q . (W_k x + b_k) = (W_k^T q) . x + const, and the constant does
        #   not change the softmax;  sum_i a_i (W_v x_i + b_v) =
        #   W_v (sum_i a_i x_i) + b_v, as the weights a_i sum to 1.
        # The per-pixel LayerNorm is folded the same way, so the features
        # are read in place (no normalised copy of the whole map):
        #   q . LN(x_i) = ((q * g) . x_i - mu_i sum(q * g)) / s_i + q . beta;
        #   sum_i a_i LN(x_i) = g * sum_i (a_i / s_i) (x_i - mu_i) + beta.
        # O(N * HW * C) instead of O(HW * C^2), and a few passes over the
        # map: the backbone's big, wide maps pay little for the prior.
        w_k, w_v = self.kv_proj.weight.view(2, heads, head_dim, c).unbind(0)
        norm = self.feat_norm
        qg = torch.einsum('bhnd,hdc->bhnc', q, w_k) * norm.weight
        qg = qg.flatten(1, 2)  # (B, heads * N, C)
        x = feat.flatten(2).to(qg.dtype)  # (B, C, HW), a view
        mu, inv_std = _pixel_stats(x, norm.eps)  # (B, 1, HW) each
        logits = torch.bmm(qg, x)  # (B, heads * N, HW)
        qg_sum = qg.sum(-1, keepdim=True)
        if torch.is_grad_enabled():
            logits = (logits - qg_sum * mu) * (inv_std * head_dim**-0.5)
            attn = torch.softmax(logits, dim=-1) * inv_std  # a_i / s_i
        else:  # in place: the logits are the largest tensor here
            logits.addcmul_(qg_sum, mu, value=-1)
            logits.mul_(inv_std * head_dim**-0.5)
            attn = torch.softmax(logits, dim=-1).mul_(inv_std)
        agg = torch.bmm(attn, x.transpose(1, 2)) - torch.bmm(
            attn, mu.transpose(1, 2))
        agg = (agg * norm.weight + norm.bias).view(b, heads, n, c)
        b_v = self.kv_proj.bias.view(2, heads, head_dim)[1]
        update = torch.einsum('bhnc,hdc->bhnd', agg, w_v) + b_v[:, None]
        update = update.transpose(1, 2).reshape(b, n, c)
        update = self.out_proj(update)
        h, w = grid_hw
        update = update.transpose(1, 2).reshape(b * c, h, w)
        if (h, w) == (height, width):
            return feat + update.view_as(feat).to(feat.dtype)
        # Bilinear resize (align_corners=False) as two small matrix
        # products, the second one fused with the addition: one pass over
        # the output instead of a resized copy plus an addition.
        rows = _resize_matrix(h, height, update)  # (H, h)
        cols = _resize_matrix(w, width, update)  # (W, w)
        out = torch.baddbmm(
            feat.reshape(b * c, height, width).to(update.dtype),
            torch.matmul(rows, update), cols.t().expand(b * c, w, width))
        return out.view(b, c, height, width).to(feat.dtype)


def _pixel_stats(x: Tensor, eps: float) -> Tuple[Tensor, Tensor]:
    """Mean and 1 / std over channels of (B, C, L) features, per pixel
    (LayerNorm's statistics: biased variance).

    On large maps without autograd the variance is summed channel by
    channel: a reduction over the strided channel axis is several times
    slower on CPU than C contiguous row operations.
    """
    mu = x.mean(1, keepdim=True)
    if torch.is_grad_enabled() or x.shape[-1] < 4096:
        var = x.var(1, unbiased=False, keepdim=True)
    else:
        var, diff = torch.zeros_like(mu), torch.empty_like(mu)
        for i in range(x.shape[1]):
            torch.sub(x[:, i:i + 1], mu, out=diff)
            var.addcmul_(diff, diff)
        var.div_(x.shape[1])
    return mu, torch.rsqrt(var + eps)


def _resize_matrix(size_in: int, size_out: int, like: Tensor) -> Tensor:
    """(size_out, size_in) weights of 1-D linear resizing with
    ``align_corners=False``, the factor of bilinear 2-D resizing."""
    eye = torch.eye(size_in, dtype=like.dtype, device=like.device)[None]
    return F.interpolate(
        eye, size=size_out, mode='linear', align_corners=False)[0].t()


def build_injections(prior_dim: int, layer_channels: Sequence[int],
                     inject_layers: Sequence[int],
                     inject_heads: Sequence[int]) -> nn.ModuleDict:
    """One :class:`PriorInjection` per injected layer, keyed ``str(layer)``.

    Args:
        prior_dim (int): Channels of the prior tokens.
        layer_channels (Sequence[int]): Channels of every routed layer.
        inject_layers (Sequence[int]): Injected layers, as
            :func:`check_injection_layout` returns them.
        inject_heads (Sequence[int]): Heads of every routed layer.
    """
    return nn.ModuleDict({
        str(i): PriorInjection(prior_dim, layer_channels[i], inject_heads[i])
        for i in inject_layers
    })


def inject_checked(injections: nn.ModuleDict, layer_channels: Sequence[int],
                   prior_dim: int, layer_index: int, feat: Tensor,
                   prior: Tensor, grid_hw: GridHW) -> Tensor:
    """Check all arguments, then inject into one layer (a single call).

    Args:
        injections (nn.ModuleDict): From :func:`build_injections`.
        layer_channels (Sequence[int]): Channels of every routed layer.
        prior_dim (int): Channels of the prior tokens.
        layer_index (int): Index of the routed layer.
        feat (Tensor): (B, C_l, H, W) features of that layer.
        prior (Tensor): (B, N, prior_dim) prior.
        grid_hw (tuple[int, int]): The prior's (h, w) grid, h * w == N.

    Returns:
        Tensor: Features of the same shape; ``feat`` itself for a layer
        without injection.
    """
    check_layer_features(layer_index, feat, layer_channels)
    grid_hw = check_prior(prior, prior_dim, grid_hw)
    _check_batch(layer_index, feat, prior)
    key = str(layer_index)
    if key not in injections:
        return feat
    return injections[key](feat, prior, grid_hw)


def make_injection_hook(injections: nn.ModuleDict,
                        layer_channels: Sequence[int], prior_dim: int,
                        prior: Tensor, grid_hw: GridHW) -> FeatureHook:
    """A ``feature_hook(layer_index, feat)`` injecting ``prior``.

    The prior and its grid are checked here, once; each call only compares
    the features' batch and channels with what is expected (a layer without
    injection returns its features untouched, unchecked).

    Args:
        injections (nn.ModuleDict): From :func:`build_injections`.
        layer_channels (Sequence[int]): Channels of every routed layer.
        prior_dim (int): Channels of the prior tokens.
        prior (Tensor): (B, N, prior_dim) prior.
        grid_hw (tuple[int, int]): The prior's (h, w) grid.

    Returns:
        callable: ``hook(layer_index, feat) -> feat``.
    """
    grid_hw = check_prior(prior, prior_dim, grid_hw)
    modules: Dict[int, PriorInjection] = {
        int(k): m
        for k, m in injections.items()
    }
    expected = {i: (prior.shape[0], layer_channels[i]) for i in modules}

    def hook(layer_index: int, feat: Tensor) -> Tensor:
        module = modules.get(layer_index)
        if module is None:
            return feat
        if feat.dim() != 4 or feat.shape[:2] != expected[layer_index]:
            # Only on a mismatch: the full checks say what is wrong.
            check_layer_features(layer_index, feat, layer_channels)
            _check_batch(layer_index, feat, prior)
        return module(feat, prior, grid_hw)

    return hook
