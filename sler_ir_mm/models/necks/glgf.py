"""Global-Local Granularity Fusion (GLGF) of SLER-IR (paper Sec. 3.4).

GLGF is a pure module: it receives the outputs of the content and the
degradation CLIP towers (the restorer runs the towers) and

1. builds a restoration prior of N = h * w tokens (:meth:`GLGF.forward`):

   * GLMC: ``gamma, beta = MLP_c(c)``; ``CSP = LN(gamma * T_c + beta)``
     (Eq. 11) projected to ``prior_dim``; the ``crop_grid ** 2`` crop CLS
     tokens projected to ``prior_dim``, laid out row-major on the crop grid
     and bilinearly resampled to the content patch grid (h, w) = DSP;
   * CGDF: ``F' = CSP + Attn(Q=CSP, K=DSP, V=DSP)`` (Eq. 12), then
     ``F' = F' + FFN(LN(F'))``. Plain attention is blind to where a DSP token
     lies, so the spatial layout of the crops is lost (every patch sees the
     same set of DSP tokens). ``position_bias=True`` (our extension; off by
     default, so that the default is the paper's plain Eq. 12) adds a
     learnable 2-D distance bias ``-s_head * |pos_q - pos_k|^2`` to the
     attention logits (one slope per head, initialised from local to
     global), which keeps the prior of a patch tied to the degradation
     evidence of its region;

2. injects the prior into routed backbone layers (:meth:`GLGF.inject`,
   :meth:`GLGF.make_feature_hook`), with one
   :class:`~.prior_injection.PriorInjection` per injected layer (see
   :mod:`.prior_injection`). A freshly initialised GLGF is exactly the
   identity on the backbone.

The inputs are checked where they enter: in :meth:`GLGF.forward`, and the
prior once per :meth:`GLGF.make_feature_hook`, not for each layer.
"""
import math
import numbers
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

from sler_ir_mm.utils import check_int
from .prior_injection import (FeatureHook, GridHW, build_injections,
                              check_grid_hw, check_injection_layout,
                              check_tensor, inject_checked,
                              make_injection_hook)

__all__ = ['GLGF']

# SLERNet with dim 48: encoder 1-3, latent, decoder 3-1, refinement.
_SLERNET_DIM48_CHANNELS = (48, 96, 192, 384, 192, 96, 96, 96)
# Initial slopes of the CGDF distance bias, in units of the squared distance
# on the unit square: 1 is almost global, 256 mostly within one 4x4 crop.
_MIN_SLOPE, _MAX_SLOPE = 1.0, 256.0


@MODELS.register_module()
class GLGF(BaseModule):
    """Global-Local Granularity Fusion: restoration prior and injection.

    Args:
        content_cls_dim (int): Dimension of the content CLIP CLS token c
            (e.g. 512 for an open_clip ViT-B-32 image embedding).
        content_token_dim (int): Width of the content patch tokens T_c
            (e.g. 768 for ViT-B-32).
        degradation_dim (int): Dimension of the degradation CLIP CLS token of
            each crop (e.g. 512).
        layer_channels (Sequence[int]): Channels of the routed backbone
            layers, in SLERNet's order. Default: SLERNet with dim 48,
            ``(48, 96, 192, 384, 192, 96, 96, 96)``.
        prior_dim (int): Channels of the restoration prior tokens.
            Default: 256.
        num_heads (int): Heads of the CGDF cross-attention; must divide
            ``prior_dim``. Default: 8.
        ffn_ratio (float): Hidden width of the CGDF FFN over ``prior_dim``.
            Default: 2.0.
        crop_grid (int): Side of the square grid of degradation crops; the
            crop tokens are row-major (crop (i, j) -> i * crop_grid + j).
            Default: 4.
        mlp_hidden_dim (int, optional): Hidden width of MLP_c (the FiLM
            generator). Default: ``content_cls_dim``.
        inject_layers (Sequence[int]): Indices of the routed layers that
            receive the prior; the others are left unchanged. Default: all
            layers.
        inject_heads (int | Sequence[int]): Attention heads of the injection,
            one value for all layers or one per routed layer; must divide
            the layer's channels. Default: 1.
        position_bias (bool): Add a learnable 2-D distance bias to the CGDF
            attention logits (our extension: plain Eq. 12 lets every patch
            attend to every crop alike, so the crop layout only survives
            through the content queries). Default: False, the paper's
            Eq. 12.
        init_cfg (dict, optional): Initialization config. The zero
            initialisation of the injection output projections is kept
            whatever ``init_cfg`` does. Default: None.
    """

    def __init__(self,
                 content_cls_dim: int,
                 content_token_dim: int,
                 degradation_dim: int,
                 layer_channels: Sequence[int] = _SLERNET_DIM48_CHANNELS,
                 prior_dim: int = 256,
                 num_heads: int = 8,
                 ffn_ratio: float = 2.0,
                 crop_grid: int = 4,
                 mlp_hidden_dim: Optional[int] = None,
                 inject_layers: Optional[Sequence[int]] = None,
                 inject_heads: Union[int, Sequence[int]] = 1,
                 position_bias: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_int('content_cls_dim', content_cls_dim)
        check_int('content_token_dim', content_token_dim)
        check_int('degradation_dim', degradation_dim)
        check_int('prior_dim', prior_dim)
        check_int('num_heads', num_heads)
        check_int('crop_grid', crop_grid)
        if mlp_hidden_dim is None:
            mlp_hidden_dim = content_cls_dim
        check_int('mlp_hidden_dim', mlp_hidden_dim)
        if prior_dim % num_heads != 0:
            raise ValueError(f'prior_dim ({prior_dim}) must be divisible by '
                             f'num_heads ({num_heads})')
        if isinstance(ffn_ratio, bool) or not isinstance(
                ffn_ratio, numbers.Real) or ffn_ratio <= 0:
            raise ValueError(
                f'ffn_ratio must be a positive number, got {ffn_ratio!r}')
        ffn_dim = max(1, int(round(prior_dim * ffn_ratio)))

        inject_layers, inject_heads = check_injection_layout(
            layer_channels, inject_layers, inject_heads)

        self.content_cls_dim = content_cls_dim
        self.content_token_dim = content_token_dim
        self.degradation_dim = degradation_dim
        self.prior_dim = prior_dim
        self.num_heads = num_heads
        self.crop_grid = crop_grid
        self.num_crops = crop_grid * crop_grid
        self.layer_channels = tuple(int(ch) for ch in layer_channels)
        self.num_layers = len(self.layer_channels)
        self.inject_layers = inject_layers
        self.inject_heads = inject_heads
        self.position_bias = bool(position_bias)

        # GLMC, content side (Eq. 11). LN first: CLIP CLS tokens have an
        # arbitrary scale. gamma = 1 + delta so the FiLM starts near identity.
        self.film_mlp = nn.Sequential(
            nn.LayerNorm(content_cls_dim),
            nn.Linear(content_cls_dim, mlp_hidden_dim),
            nn.GELU(),
            nn.Linear(mlp_hidden_dim, 2 * content_token_dim),
        )
        self.csp_norm = nn.LayerNorm(content_token_dim)
        self.csp_proj = nn.Linear(content_token_dim, prior_dim)
        # GLMC, degradation side: LN + projection of each crop token, applied
        # on the coarse grid (linear maps commute with bilinear resizing).
        self.dsp_norm = nn.LayerNorm(degradation_dim)
        self.dsp_proj = nn.Linear(degradation_dim, prior_dim)
        # CGDF (Eq. 12) + LN/FFN block.
        self.q_proj = nn.Linear(prior_dim, prior_dim)
        self.k_proj = nn.Linear(prior_dim, prior_dim)
        self.v_proj = nn.Linear(prior_dim, prior_dim)
        self.attn_out = nn.Linear(prior_dim, prior_dim)
        if self.position_bias:
            low, high = math.log(_MIN_SLOPE), math.log(_MAX_SLOPE)
            if num_heads == 1:
                log_slopes = torch.tensor([(low + high) / 2])
            else:
                log_slopes = torch.linspace(low, high, num_heads)
            self.log_slopes = nn.Parameter(log_slopes)
        self.ffn_norm = nn.LayerNorm(prior_dim)
        self.ffn = nn.Sequential(
            nn.Linear(prior_dim, ffn_dim),
            nn.GELU(),
            nn.Linear(ffn_dim, prior_dim),
        )
        # Injection modules, one per injected layer (keys 'injections.<i>').
        self.injections = build_injections(prior_dim, self.layer_channels,
                                           self.inject_layers,
                                           self.inject_heads)

    def init_weights(self) -> None:
        """Initialise, then zero the injection output projections again."""
        super().init_weights()
        for module in self.injections.values():
            module.reset_out_proj()

    # ------------------------------------------------------------------
    # Prior construction
    # ------------------------------------------------------------------
    def content_map(self, content_cls: Tensor,
                    content_tokens: Tensor) -> Tensor:
        """CSP: FiLM-calibrated content tokens, (B, N, prior_dim)."""
        gamma, beta = self.film_mlp(content_cls).unsqueeze(1).chunk(2, dim=-1)
        csp = self.csp_norm((1 + gamma) * content_tokens + beta)
        return self.csp_proj(csp)

    def degradation_map(self, crop_cls: Tensor,
                        grid_hw: Tuple[int, int]) -> Tensor:
        """DSP: crop tokens resampled to the patch grid, (B, h*w, prior)."""
        b = crop_cls.shape[0]
        g = self.crop_grid
        coarse = self.dsp_proj(self.dsp_norm(crop_cls))  # (B, g*g, prior)
        # Row-major: token i * g + j is crop (row i, column j).
        coarse = coarse.transpose(1, 2).reshape(b, self.prior_dim, g, g)
        dense = F.interpolate(
            coarse, size=grid_hw, mode='bilinear', align_corners=False)
        return dense.flatten(2).transpose(1, 2)

    def _distance_bias(self, grid_hw: Tuple[int, int],
                       ref: Tensor) -> Tensor:
        """(heads, N, N) bias ``-slope * squared distance`` on the grid."""
        h, w = grid_hw
        ys = (torch.arange(h, device=ref.device, dtype=ref.dtype) + 0.5) / h
        xs = (torch.arange(w, device=ref.device, dtype=ref.dtype) + 0.5) / w
        pos = torch.stack(torch.meshgrid(ys, xs, indexing='ij'), -1)
        pos = pos.reshape(h * w, 2)
        dist2 = (pos[:, None] - pos[None]).pow(2).sum(-1)
        slopes = self.log_slopes.exp().to(ref.dtype)
        return -slopes[:, None, None] * dist2

    def cgdf_attention(self, csp: Tensor, dsp: Tensor,
                       grid_hw: Tuple[int, int]) -> Tensor:
        """``Attn(Q=CSP, K=DSP, V=DSP)`` of Eq. 12, (B, N, prior_dim)."""
        b, n, c = csp.shape
        heads = self.num_heads

        def split(x: Tensor) -> Tensor:
            return x.view(b, n, heads, c // heads).transpose(1, 2)

        q = split(self.q_proj(csp))
        k = split(self.k_proj(dsp))
        v = split(self.v_proj(dsp))
        bias = self._distance_bias(grid_hw, q) if self.position_bias \
            else None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.attn_out(out.transpose(1, 2).reshape(b, n, c))

    def forward(self, content_cls: Tensor, content_tokens: Tensor,
                crop_cls: Tensor, grid_hw: GridHW) -> Tensor:
        """Build the restoration prior.

        Args:
            content_cls (Tensor): (B, content_cls_dim) content CLS token c.
            content_tokens (Tensor): (B, N, content_token_dim) content patch
                tokens T_c, row-major on the (h, w) patch grid.
            crop_cls (Tensor): (B, crop_grid ** 2, degradation_dim) CLS
                tokens of the crops, row-major over the crop grid.
            grid_hw (tuple[int, int]): The content patch grid (h, w), with
                h * w == N.

        Returns:
            Tensor: The restoration prior tokens F', (B, N, prior_dim).
        """
        check_tensor('content_cls', content_cls, 2, '(B, content_cls_dim)')
        check_tensor('content_tokens', content_tokens, 3,
                     '(B, N, content_token_dim)')
        check_tensor('crop_cls', crop_cls, 3,
                     '(B, crop_grid ** 2, degradation_dim)')
        b, n, _ = content_tokens.shape
        if content_cls.shape != (b, self.content_cls_dim):
            raise ValueError(
                f'content_cls must have shape (B={b}, content_cls_dim='
                f'{self.content_cls_dim}), got {tuple(content_cls.shape)}')
        if content_tokens.shape[2] != self.content_token_dim:
            raise ValueError(
                f'content_tokens must have {self.content_token_dim} '
                f'channels, got {tuple(content_tokens.shape)}')
        if crop_cls.shape != (b, self.num_crops, self.degradation_dim):
            raise ValueError(
                f'crop_cls must have shape (B={b}, {self.num_crops} crop '
                f'tokens for a {self.crop_grid}x{self.crop_grid} grid, '
                f'degradation_dim={self.degradation_dim}), got '
                f'{tuple(crop_cls.shape)}')
        grid_hw = check_grid_hw(grid_hw, n, 'content patch tokens')

        csp = self.content_map(content_cls, content_tokens)
        dsp = self.degradation_map(crop_cls, grid_hw)
        prior = csp + self.cgdf_attention(csp, dsp, grid_hw)
        return prior + self.ffn(self.ffn_norm(prior))

    # ------------------------------------------------------------------
    # Injection
    # ------------------------------------------------------------------
    def inject(self, layer_index: int, feat: Tensor, prior: Tensor,
               grid_hw: GridHW) -> Tensor:
        """Inject the prior into the output features of one routed layer.

        All arguments are checked on each call; to inject into every layer
        of a backbone pass, use :meth:`make_feature_hook`.

        Args:
            layer_index (int): Index of the routed layer, in
                [0, len(layer_channels)).
            feat (Tensor): (B, C_l, H, W) features of that layer.
            prior (Tensor): (B, N, prior_dim) prior from :meth:`forward`.
            grid_hw (tuple[int, int]): The prior's (h, w) grid, h * w == N.

        Returns:
            Tensor: Features of the same shape; ``feat`` itself for a layer
            not in ``inject_layers``.
        """
        return inject_checked(self.injections, self.layer_channels,
                              self.prior_dim, layer_index, feat, prior,
                              grid_hw)

    def make_feature_hook(self, prior: Tensor,
                          grid_hw: GridHW) -> FeatureHook:
        """A ``feature_hook(layer_index, feat)`` for ``SLERNet.forward``.

        The prior and its grid are checked here, once for all layers.

        Args:
            prior (Tensor): (B, N, prior_dim) prior from :meth:`forward`.
            grid_hw (tuple[int, int]): The prior's (h, w) grid.

        Returns:
            callable: ``hook(layer_index, feat) -> feat``, the features with
            the prior injected (as :meth:`inject`).
        """
        return make_injection_hook(self.injections, self.layer_channels,
                                   self.prior_dim, prior, grid_hw)

    def extra_repr(self) -> str:
        return (f'prior_dim={self.prior_dim}, crop_grid={self.crop_grid}, '
                f'layer_channels={self.layer_channels}, '
                f'inject_layers={self.inject_layers}, '
                f'inject_heads={self.inject_heads}, '
                f'position_bias={self.position_bias}')
