"""A small trainable CNN that stands in for the degradation CLIP."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmagic.registry import MODELS


@MODELS.register_module()
class ConvDegradationEncoder(BaseModule):
    """Strided convolutions + mean/std pooling -> a degradation embedding.

    It follows the encoder interface the restorer expects from every
    degradation/content encoder: ``forward(img)`` takes images in [0, 1] of
    any size and returns ``(cls, patch_tokens)``: a global embedding of shape
    (B, embed_dim) and per-location tokens of shape (B, N, embed_dim).
    Standard deviation pooling is used beside mean pooling because noise,
    rain and blur show in the spread of local responses more than in their
    mean.

    Args:
        in_channels (int): Image channels. Default: 3.
        channels (Sequence[int]): Widths of the stride-2 conv stages.
            Default: (16, 32, 64).
        embed_dim (int): Size of the returned embedding. Default: 64.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: Sequence[int] = (16, 32, 64),
                 embed_dim: int = 64,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(channels) == 0 or min(channels) < 1:
            raise ValueError(f'channels must be positive widths, got '
                             f'{channels}')
        if embed_dim < 1:
            raise ValueError(f'embed_dim must be >= 1, got {embed_dim}')
        layers = []
        prev = in_channels
        for width in channels:
            layers += [
                nn.Conv2d(prev, width, 3, stride=2, padding=1),
                nn.GELU()
            ]
            prev = width
        self.body = nn.Sequential(*layers)
        self.token_proj = nn.Linear(prev, embed_dim)
        self.cls_proj = nn.Linear(2 * prev, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args:
            img (Tensor): (B, C, H, W) images in [0, 1].

        Returns:
            tuple[Tensor, Tensor]: ``cls`` (B, embed_dim) and
            ``patch_tokens`` (B, N, embed_dim).
        """
        feat = self.body(img)
        flat = feat.flatten(2)  # (B, C, N)
        pooled = torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], 1)
        return self.cls_proj(pooled), self.token_proj(flat.transpose(1, 2))
