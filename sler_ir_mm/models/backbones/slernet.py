"""SLERNet: MMagic's Restormer with its block stacks split into experts.

The 8 Transformer block stacks of Restormer (encoder 1-3, latent, decoder 3-1,
refinement) are the routable layers of SLER-IR. Each becomes an
:class:`ExpertStack` holding ``num_experts`` parameter-independent copies; the
patch embedding, the resamplers, the channel reductions and the output conv
stay shared. With ``num_experts=1`` the network is MMagic's ``Restormer`` (same
parameters, same output for the same weights).
"""
import os
from typing import (Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.models.editors.restormer.restormer_net import (
    Downsample, OverlapPatchEmbed, TransformerBlock, Upsample)
from mmagic.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from .restormer_weights import RestormerLoadInfo
from .restormer_weights import \
    load_restormer_weights as _load_restormer_weights

__all__ = ['ExpertStack', 'SLERNet']

FeatureHook = Callable[[int, Tensor], Tensor]


def _positions(mask: Tensor, device: torch.device) -> Tensor:
    """Batch indices where a CPU bool mask is set, as an index on device."""
    return mask.nonzero().flatten().to(device, non_blocking=True)


class ExpertStack(BaseModule):
    """One routed layer: ``num_experts`` independent Restormer block stacks.

    Parameters are named ``experts.<expert>.<block>.<...>`` so that a Restormer
    key ``encoder_level1.0.norm1.body.weight`` maps to
    ``encoder_level1.experts.<e>.0.norm1.body.weight``.

    Args:
        num_experts (int): Number of experts.
        num_blocks (int): Transformer blocks per expert.
        dim (int): Channels of the features of this layer.
        num_heads (int): Attention heads of each block.
        ffn_expansion_factor (float): Channel expansion of the blocks' FFN.
        bias (bool): Whether the blocks' convolutions have a bias.
        LayerNorm_type (str): 'WithBias' or 'BiasFree'.
    """

    def __init__(self, num_experts: int, num_blocks: int, dim: int,
                 num_heads: int, ffn_expansion_factor: float, bias: bool,
                 LayerNorm_type: str) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.experts = nn.ModuleList([
            nn.Sequential(*[
                TransformerBlock(
                    dim=dim,
                    num_heads=num_heads,
                    ffn_expansion_factor=ffn_expansion_factor,
                    bias=bias,
                    LayerNorm_type=LayerNorm_type) for _ in range(num_blocks)
            ]) for _ in range(num_experts)
        ])

    def forward(self, x: Tensor, route: Tensor) -> Tensor:
        """Route a batch through the experts.

        Args:
            x (Tensor): Features of shape (B, C, H, W).
            route (Tensor): (B,) integer expert indices (hard routing) or
                (B, num_experts) float probabilities (soft routing).

        Returns:
            Tensor: Features of shape (B, C, H, W).
        """
        if route.is_floating_point():
            return self.forward_soft(x, route)
        return self.forward_hard(x, route)

    def forward_hard(self, x: Tensor, indices: Tensor) -> Tensor:
        """Run each sample through its own expert only (sparse dispatch).

        Args:
            x (Tensor): Features of shape (B, C, H, W).
            indices (Tensor): (B,) integer expert indices. A CPU tensor
                avoids a device synchronisation.

        Returns:
            Tensor: Features of shape (B, C, H, W).
        """
        indices = indices.detach().cpu()
        first = int(indices[0])
        # Common case (single image, or a batch of one task): exactly the cost
        # of a plain Restormer layer, no gather/scatter.
        if bool((indices == first).all()):
            return self.experts[first](x)
        out: Optional[Tensor] = None
        for j in indices.unique().tolist():
            pos = _positions(indices == j, x.device)
            y = self.experts[j](x.index_select(0, pos))
            if out is None:
                out = y.new_empty((x.size(0), *y.shape[1:]))
            out.index_copy_(0, pos, y)
        return out

    def forward_soft(self,
                     x: Tensor,
                     probs: Tensor,
                     winners: Optional[Tensor] = None) -> Tensor:
        """Probability-weighted mixture where only arg-max experts learn.

        The output is ``sum_j p[:, j] * E_j(x)``. For each sample, the arg-max
        expert runs with autograd; the others run under ``torch.no_grad`` so
        they get no gradient, pass none back to ``x`` and keep no activations.
        ``probs`` still receives its gradient through the weighted sum.

        Args:
            x (Tensor): Features of shape (B, C, H, W).
            probs (Tensor): (B, num_experts) routing probabilities.
            winners (Tensor, optional): (B,) arg-max of ``probs`` on the CPU,
                to avoid a device synchronisation per layer.

        Returns:
            Tensor: Features of shape (B, C, H, W).
        """
        if winners is None:
            winners = probs.detach().argmax(dim=-1)
        winners = winners.cpu()
        batch = x.size(0)
        # Without autograd (inference) there is nothing to mask: no split.
        grad_on = torch.is_grad_enabled()
        out: Optional[Tensor] = None
        for j, expert in enumerate(self.experts):
            learns = winners == j
            num_learn = int(learns.sum())
            if num_learn == batch or not grad_on:
                y = expert(x)
            elif num_learn == 0:
                with torch.no_grad():
                    y = expert(x)
            else:
                pos_learn = _positions(learns, x.device)
                pos_frozen = _positions(~learns, x.device)
                y_learn = expert(x.index_select(0, pos_learn))
                with torch.no_grad():
                    y_frozen = expert(x.index_select(0, pos_frozen))
                y = y_learn.new_empty((batch, *y_learn.shape[1:]))
                y.index_copy_(0, pos_learn, y_learn)
                y.index_copy_(0, pos_frozen, y_frozen)
            weight = probs[:, j].to(y.dtype).view(batch, 1, 1, 1)
            out = weight * y if out is None else out + weight * y
        return out


@MODELS.register_module()
class SLERNet(BaseModule):
    """Restormer whose 8 block stacks are layer-wise routed experts (SLER-IR).

    ``forward(inp_img, routing)`` takes the routing of every sample: hard
    expert indices (B, 8) or soft probabilities (B, 8, num_experts). See
    :meth:`forward`.

    Args:
        inp_channels (int): Input image channels. Default: 3.
        out_channels (int): Output image channels. Default: 3.
        dim (int): Feature channels of the first level. Default: 48.
        num_blocks (Sequence[int]): Transformer blocks of levels 1-4.
            Default: (4, 6, 6, 8).
        num_refinement_blocks (int): Refinement blocks. Default: 4.
        heads (Sequence[int]): Attention heads of levels 1-4.
            Default: (1, 2, 4, 8).
        ffn_expansion_factor (float): FFN channel expansion. Default: 2.66.
        bias (bool): Bias of the blocks' and reduction convs. Default: False.
        LayerNorm_type (str): 'WithBias' or 'BiasFree'. Default: 'WithBias'.
        dual_pixel_task (bool): Dual-pixel defocus deblurring; the input is
            then a dict of the ``dual_keys`` images (set inp_channels=6).
            Default: False.
        dual_keys (Sequence[str]): Keys of the dual images.
            Default: ('imgL', 'imgR').
        num_experts (int): Experts per routed layer. Default: 3.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    ROUTED_LAYERS: Tuple[str, ...] = ('encoder_level1', 'encoder_level2',
                                      'encoder_level3', 'latent',
                                      'decoder_level3', 'decoder_level2',
                                      'decoder_level1', 'refinement')
    num_routed_layers: int = len(ROUTED_LAYERS)
    # Restormer reflect-pads inputs to this multiple (3 pixel-unshuffles).
    SIZE_DIVISOR: int = 8

    def __init__(self,
                 inp_channels: int = 3,
                 out_channels: int = 3,
                 dim: int = 48,
                 num_blocks: Sequence[int] = (4, 6, 6, 8),
                 num_refinement_blocks: int = 4,
                 heads: Sequence[int] = (1, 2, 4, 8),
                 ffn_expansion_factor: float = 2.66,
                 bias: bool = False,
                 LayerNorm_type: str = 'WithBias',
                 dual_pixel_task: bool = False,
                 dual_keys: Sequence[str] = ('imgL', 'imgR'),
                 num_experts: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        num_blocks, heads = tuple(num_blocks), tuple(heads)
        self._check_args(inp_channels, out_channels, dim, num_blocks,
                         num_refinement_blocks, heads, ffn_expansion_factor,
                         LayerNorm_type, dual_pixel_task, dual_keys,
                         num_experts)
        self.num_experts = num_experts
        # Channels of the 8 routed layers' features (what a feature_hook
        # sees), in ROUTED_LAYERS order.
        self.layer_channels = (dim, dim * 2, dim * 4, dim * 8, dim * 4,
                               dim * 2, dim * 2, dim * 2)
        self.dual_pixel_task = dual_pixel_task
        self.dual_keys = tuple(dual_keys)

        def stack(depth: int, channels: int, num_heads: int) -> ExpertStack:
            return ExpertStack(num_experts, depth, channels, num_heads,
                               ffn_expansion_factor, bias, LayerNorm_type)

        # Same construction (and registration order) as mmagic's Restormer,
        # so that parameter names and default initialisation line up.
        self.patch_embed = OverlapPatchEmbed(inp_channels, dim)
        self.encoder_level1 = stack(num_blocks[0], dim, heads[0])
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = stack(num_blocks[1], dim * 2, heads[1])
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = stack(num_blocks[2], dim * 4, heads[2])
        self.down3_4 = Downsample(dim * 4)
        self.latent = stack(num_blocks[3], dim * 8, heads[3])
        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(
            dim * 8, dim * 4, kernel_size=1, bias=bias)
        self.decoder_level3 = stack(num_blocks[2], dim * 4, heads[2])
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(
            dim * 4, dim * 2, kernel_size=1, bias=bias)
        self.decoder_level2 = stack(num_blocks[1], dim * 2, heads[1])
        self.up2_1 = Upsample(dim * 2)
        self.decoder_level1 = stack(num_blocks[0], dim * 2, heads[0])
        self.refinement = stack(num_refinement_blocks, dim * 2, heads[0])
        if dual_pixel_task:
            self.skip_conv = nn.Conv2d(dim, dim * 2, kernel_size=1, bias=bias)
        self.output = nn.Conv2d(
            dim * 2,
            out_channels,
            kernel_size=3,
            stride=1,
            padding=1,
            bias=bias)

    @staticmethod
    def _check_args(inp_channels: int, out_channels: int, dim: int,
                    num_blocks: Tuple[int, ...], num_refinement_blocks: int,
                    heads: Tuple[int, ...], ffn_expansion_factor: float,
                    LayerNorm_type: str, dual_pixel_task: bool,
                    dual_keys: Sequence[str], num_experts: int) -> None:

        def is_int(v: object) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        if not is_int(num_experts) or num_experts < 1:
            raise ValueError(
                f'num_experts must be an int >= 1, got {num_experts!r}')
        if not is_int(dim) or dim < 2 or dim % 2:
            # Downsample halves the channels before a 2x pixel-unshuffle.
            raise ValueError(f'dim must be a positive even int, got {dim!r}')
        for name, value in (('inp_channels', inp_channels),
                            ('out_channels', out_channels)):
            if not is_int(value) or value < 1:
                raise ValueError(f'{name} must be an int >= 1, got {value!r}')
        if len(num_blocks) != 4 or not all(
                is_int(n) and n >= 0 for n in num_blocks):
            raise ValueError('num_blocks must be 4 ints >= 0 (levels 1-4), '
                             f'got {num_blocks!r}')
        if not is_int(num_refinement_blocks) or num_refinement_blocks < 0:
            raise ValueError('num_refinement_blocks must be an int >= 0, '
                             f'got {num_refinement_blocks!r}')
        if len(heads) != 4 or not all(is_int(h) and h >= 1 for h in heads):
            raise ValueError(
                f'heads must be 4 ints >= 1 (levels 1-4), got {heads!r}')
        # Channels of each level must split evenly over its heads; decoder
        # level 1 and refinement use heads[0] on 2 * dim channels.
        for level, h in enumerate(heads):
            if (dim * 2**level) % h:
                raise ValueError(
                    f'heads[{level}]={h} does not divide the '
                    f'{dim * 2**level} channels of level {level + 1} '
                    f'(dim={dim})')
        if not ffn_expansion_factor > 0:
            raise ValueError('ffn_expansion_factor must be > 0, '
                             f'got {ffn_expansion_factor!r}')
        if LayerNorm_type not in ('WithBias', 'BiasFree'):
            raise ValueError("LayerNorm_type must be 'WithBias' or "
                             f"'BiasFree', got {LayerNorm_type!r}")
        if dual_pixel_task:
            if isinstance(dual_keys, str) or len(dual_keys) < 1:
                raise ValueError('dual_keys must be a sequence of input keys, '
                                 f'got {dual_keys!r}')
        elif inp_channels != out_channels:
            # The output is added to the input image (global residual).
            raise ValueError(
                'inp_channels must equal out_channels unless '
                f'dual_pixel_task=True, got {inp_channels} and {out_channels}')

    @property
    def size_divisor(self) -> int:
        """Spatial multiple the network works at; forward pads to it itself."""
        return self.SIZE_DIVISOR

    @property
    def routed_layers(self) -> List[ExpertStack]:
        """The 8 routed layers, in the order of ``ROUTED_LAYERS``."""
        return [getattr(self, name) for name in self.ROUTED_LAYERS]

    def _layer_index(self, layer: Union[int, str]) -> int:
        if isinstance(layer, str):
            if layer not in self.ROUTED_LAYERS:
                raise ValueError(f'unknown routed layer {layer!r}; expected '
                                 f'one of {self.ROUTED_LAYERS}')
            return self.ROUTED_LAYERS.index(layer)
        if not 0 <= layer < self.num_routed_layers:
            raise ValueError(f'layer index must be in [0, '
                             f'{self.num_routed_layers}), got {layer}')
        return layer

    def expert(self, layer: Union[int, str], expert_index: int) -> nn.Module:
        """The block stack of one expert of one routed layer.

        Args:
            layer (int | str): Routed layer index or name.
            expert_index (int): Expert index in [0, num_experts).
        """
        layer = self._layer_index(layer)
        if not 0 <= expert_index < self.num_experts:
            raise ValueError(f'expert_index must be in [0, {self.num_experts})'
                             f', got {expert_index}')
        return self.routed_layers[layer].experts[expert_index]

    def expert_parameters(self, layer: Union[int, str],
                          expert_index: int) -> Iterator[nn.Parameter]:
        """Parameters of one expert of one routed layer.

        Args:
            layer (int | str): Routed layer index or name.
            expert_index (int): Expert index in [0, num_experts).
        """
        return self.expert(layer, expert_index).parameters()

    def _check_routing(self, routing: Tensor,
                       batch: int) -> Tuple[bool, Tensor]:
        """Check ``routing``; return (is_soft, CPU expert indices (B, 8))."""
        if not isinstance(routing, Tensor):
            raise ValueError('routing must be a torch.Tensor, got '
                             f'{type(routing).__name__}')
        num_layers, num_experts = self.num_routed_layers, self.num_experts
        if routing.is_floating_point():
            expected = (batch, num_layers, num_experts)
            if tuple(routing.shape) != expected:
                raise ValueError(
                    'soft routing (float) must be probabilities of shape '
                    f'(B, {num_layers}, num_experts)={expected}, got '
                    f'{tuple(routing.shape)}; hard routing must be an '
                    'integer tensor')
            # One sync per forward instead of one per layer.
            probs = routing.detach().cpu()
            if not bool(torch.isfinite(probs).all()):
                raise ValueError('routing probabilities must be finite')
            return True, probs.argmax(dim=-1)
        if routing.dtype == torch.bool or routing.is_complex():
            raise ValueError(
                'routing must be an integer tensor (B, 8) of expert indices '
                'or a float tensor (B, 8, num_experts) of probabilities, got '
                f'dtype {routing.dtype}')
        if tuple(routing.shape) != (batch, num_layers):
            raise ValueError(
                'hard routing (integer) must have shape '
                f'(B, {num_layers})={(batch, num_layers)}, got '
                f'{tuple(routing.shape)}')
        indices = routing.detach().cpu().long()
        if bool((indices < 0).any()) or bool((indices >= num_experts).any()):
            raise ValueError(
                f'routing indices must be in [0, {num_experts}), got min '
                f'{int(indices.min())} and max {int(indices.max())}')
        return False, indices

    def forward(self,
                inp_img: Union[Tensor, Dict[str, Tensor]],
                routing: Tensor,
                feature_hook: Optional[FeatureHook] = None) -> Tensor:
        """Restore images with the given per-sample, per-layer routing.

        Args:
            inp_img (Tensor | dict): (B, C, H, W) images, or for the
                dual-pixel task a dict of the ``dual_keys`` images. Any H, W:
                they are reflect-padded to a multiple of 8 and cropped back.
            routing (Tensor): Hard routing, an integer tensor (B, 8) of expert
                indices in [0, num_experts): each sample runs only its experts
                (samples are grouped per expert). Or soft routing, a float
                tensor (B, 8, num_experts) of probabilities: each layer outputs
                ``sum_j p_j * E_j(x)`` with parameter gradients only for the
                arg-max expert of each sample, and gradients to ``routing``.
            feature_hook (callable, optional): ``hook(layer_index, feat)``
                returning the features to use in place of ``feat``, the output
                of each routed layer (after mixing the experts), e.g. to inject
                a restoration prior. None leaves the features as they are.

        Returns:
            Tensor: Restored images of shape (B, out_channels, H, W).
        """
        if self.dual_pixel_task:
            inp_img = torch.cat([inp_img[key] for key in self.dual_keys],
                                dim=1)
        is_soft, indices = self._check_routing(routing, inp_img.size(0))

        def route(layer: int, x: Tensor) -> Tensor:
            stack = getattr(self, self.ROUTED_LAYERS[layer])
            if is_soft:
                probs = routing[:, layer].to(x.device)
                x = stack.forward_soft(x, probs, indices[:, layer])
            else:
                x = stack.forward_hard(x, indices[:, layer])
            if feature_hook is not None:
                feat = feature_hook(layer, x)
                if not isinstance(feat, Tensor) or feat.shape != x.shape:
                    raise ValueError(
                        f'feature_hook must return a tensor of shape '
                        f'{tuple(x.shape)} for layer {layer}, got '
                        f'{getattr(feat, "shape", type(feat).__name__)}')
                x = feat
            return x

        # Same padding, data flow and crop as mmagic's Restormer.forward.
        _, _, h, w = inp_img.shape
        div = self.SIZE_DIVISOR
        pad_h = (div - h % div) % div
        pad_w = (div - w % div) % div
        # Reflection (Restormer's) needs a pad smaller than the side; a
        # tiny side (e.g. one already padded to 4) is replicated instead.
        mode = 'reflect' if pad_h < h and pad_w < w else 'replicate'
        inp_img = F.pad(inp_img, (0, pad_w, 0, pad_h), mode)
        inp_enc_level1 = self.patch_embed(inp_img)
        out_enc_level1 = route(0, inp_enc_level1)

        out_enc_level2 = route(1, self.down1_2(out_enc_level1))
        out_enc_level3 = route(2, self.down2_3(out_enc_level2))
        latent = route(3, self.down3_4(out_enc_level3))

        inp_dec_level3 = torch.cat([self.up4_3(latent), out_enc_level3], 1)
        inp_dec_level3 = self.reduce_chan_level3(inp_dec_level3)
        out_dec_level3 = route(4, inp_dec_level3)

        inp_dec_level2 = torch.cat(
            [self.up3_2(out_dec_level3), out_enc_level2], 1)
        inp_dec_level2 = self.reduce_chan_level2(inp_dec_level2)
        out_dec_level2 = route(5, inp_dec_level2)

        inp_dec_level1 = torch.cat(
            [self.up2_1(out_dec_level2), out_enc_level1], 1)
        out_dec_level1 = route(6, inp_dec_level1)
        out_dec_level1 = route(7, out_dec_level1)

        if self.dual_pixel_task:
            out_dec_level1 = out_dec_level1 + self.skip_conv(inp_enc_level1)
            out_dec_level1 = self.output(out_dec_level1)
        else:
            out_dec_level1 = self.output(out_dec_level1) + inp_img
        return out_dec_level1[:, :, :h, :w]

    def load_restormer_weights(self,
                               state_dict: Union[Mapping, str, os.PathLike],
                               experts: Optional[Sequence[int]] = None,
                               strict: bool = True,
                               load_shared: bool = True,
                               param_key: Optional[str] = None
                               ) -> RestormerLoadInfo:
        """Warm-start from a Restormer checkpoint with the same configuration.

        Block-stack weights go to each chosen expert, the shared parts are
        copied once; call once per expert to start each expert from its own
        checkpoint, e.g. ``load_restormer_weights(ckpt_k, experts=[k])``.
        Delegates to :func:`~.restormer_weights.load_restormer_weights`.

        Args:
            state_dict (Mapping | str | PathLike): A Restormer state dict in
                MMagic key layout, or a checkpoint wrapping one: ``{'params':
                ...}`` / ``{'params_ema': ...}`` (official Restormer / BasicSR)
                or ``{'state_dict': {'generator.<key>': ...}}`` (MMagic), or a
                local path to such a file.
            experts (Sequence[int], optional): Experts receiving the
                block-stack weights. Default: all.
            strict (bool): Raise if keys are missing, unexpected or of another
                shape. Otherwise load what matches. Default: True.
            load_shared (bool): Also load the shared parts. Default: True.
            param_key (str, optional): Entry of the checkpoint holding the
                weights; by default 'params', then 'params_ema', then
                'state_dict' are tried.

        Returns:
            RestormerLoadInfo: Loaded, missing, unexpected and mismatched keys.
        """
        return _load_restormer_weights(
            self,
            state_dict,
            experts=experts,
            strict=strict,
            load_shared=load_shared,
            param_key=param_key)
