"""An image tower that embeds the degradation of an image, trained by
matching its embedding against learnable per-degradation prototypes."""
import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmagic.registry import MODELS
from torch import Tensor

__all__ = ['DegradationPrototypeClassifier']


@MODELS.register_module()
class DegradationPrototypeClassifier(BaseModule):
    """DA-CLIP-style degradation embedding, with prototypes for names.

    DA-CLIP trains an image tower so that its embedding of a degraded image
    matches the text embedding of the degradation's name. Without a text
    tower (or for degradations no caption describes), each class gets a
    learnable unit prototype instead, and the logits are the cosines of the
    image embedding to the prototypes times a learnable scale (CLIP's
    ``logit_scale``, initialised to 1 / 0.07 and capped at 100); the loss is
    their cross-entropy against the class. The trained tower is what
    ``CLIPImageEncoder`` then loads, frozen, as SLER-IR's degradation
    encoder.

    Args:
        encoder (dict): The image tower, e.g. ``dict(type='CLIPImageEncoder',
            vision_cfg=..., random_init=True, frozen=False)``.
        classes (Sequence[str]): Degradation class names, in label order.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(self,
                 encoder: dict,
                 classes: Sequence[str],
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(classes, str) or len(classes) < 2:
            raise ValueError(f'classes must name at least 2 degradations, '
                             f'got {classes!r}')
        if len(set(classes)) != len(classes):
            raise ValueError(f'classes must be distinct, got {classes!r}')
        self.classes = tuple(str(c) for c in classes)
        self.encoder = MODELS.build(encoder)
        if getattr(self.encoder, 'frozen', False):
            raise ValueError('the encoder to pretrain must not be frozen: '
                             'set frozen=False in its config')
        dim = self.encoder.embed_dim
        self.prototypes = nn.Parameter(
            F.normalize(torch.randn(len(self.classes), dim), dim=-1))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def embed(self, images: Tensor) -> Tensor:
        """(B, D) unit degradation embeddings of (B, 3, H, W) images in
        [0, 1] (resized to the tower's view size)."""
        return F.normalize(self.encoder(images).cls, dim=-1)

    def forward(self, images: Tensor) -> Tensor:
        """(B, N) class logits of images in [0, 1]."""
        scale = self.logit_scale.clamp(max=math.log(100)).exp()
        return scale * self.embed(images) @ F.normalize(
            self.prototypes, dim=-1).t()

    def loss(self, images: Tensor, labels: Tensor) -> Tensor:
        """Cross-entropy of the prototype logits against ``labels``."""
        return F.cross_entropy(self.forward(images), labels)

    def tower_state_dict(self) -> dict:
        """The tower's weights under CLIP's ``visual.*`` keys, the layout
        ``CLIPImageEncoder`` reads."""
        return {
            f'visual.{key}': value.detach().cpu().clone()
            for key, value in self.encoder.visual.state_dict().items()
        }
