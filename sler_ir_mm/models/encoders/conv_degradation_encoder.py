"""A small trainable CNN that stands in for the degradation CLIP."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .base_view_encoder import BaseViewEncoder
from .encoder_output import EncoderOutput


@MODELS.register_module()
class ConvDegradationEncoder(BaseViewEncoder):
    """Strided convolutions + mean/std pooling -> a degradation embedding.

    It has the view interface (:class:`BaseViewEncoder`) of the CLIP
    encoders, which the restorer uses to batch all views of a batch:
    ``preprocess(img)`` resizes images in [0, 1] to ``image_size``,
    ``forward_preprocessed(views)`` returns an :class:`EncoderOutput` (a
    global embedding (B, embed_dim) and per-location tokens
    (B, N, embed_dim) on ``grid_size``); ``forward(img)`` does both.
    Standard deviation pooling is used beside mean pooling because noise,
    rain and blur show in the spread of local responses more than in their
    mean.

    Args:
        in_channels (int): Image channels. Default: 3.
        channels (Sequence[int]): Widths of the stride-2 conv stages.
            Default: (16, 32, 64).
        embed_dim (int): Size of the returned embedding. Default: 64.
        image_size (int): Side of the square views it works on; keep it
            near the training patch size, as downscaling averages noise
            away. Default: 128.
        config_key (str): Config key of the encoder's weights, for errors;
            unused (it is trained from scratch, with the model), accepted
            like every view encoder's. Default: 'checkpoint'.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: Sequence[int] = (16, 32, 64),
                 embed_dim: int = 64,
                 image_size: int = 128,
                 config_key: str = 'checkpoint',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.config_key = config_key
        if len(channels) == 0 or min(channels) < 1:
            raise ValueError(f'channels must be positive widths, got '
                             f'{channels}')
        if embed_dim < 1:
            raise ValueError(f'embed_dim must be >= 1, got {embed_dim}')
        if image_size < 2**len(channels):
            raise ValueError(f'image_size must be >= {2**len(channels)} for '
                             f'{len(channels)} stride-2 stages, got '
                             f'{image_size}')
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
        self.token_dim = embed_dim
        self.image_size: Tuple[int, int] = (image_size, image_size)
        side = image_size
        for _ in channels:
            side = (side + 1) // 2
        self.grid_size: Tuple[int, int] = (side, side)

    def preprocess(self, img: torch.Tensor) -> torch.Tensor:
        """Resize (B, C, H, W) images in [0, 1] to ``image_size``."""
        if tuple(img.shape[-2:]) == self.image_size:
            return img
        return F.interpolate(
            img,
            size=self.image_size,
            mode='bilinear',
            align_corners=False,
            antialias=True)

    def forward_preprocessed(self, views: torch.Tensor) -> EncoderOutput:
        """Embed views made by :meth:`preprocess`.

        Returns:
            EncoderOutput: ``cls`` (B, embed_dim), ``tokens``
            (B, N, embed_dim).
        """
        feat = self.body(views)
        flat = feat.flatten(2)  # (B, C, N)
        pooled = torch.cat([flat.mean(-1), flat.std(-1, unbiased=False)], 1)
        return EncoderOutput(
            self.cls_proj(pooled), self.token_proj(flat.transpose(1, 2)))
