"""The views of a batch that SLER-IR's encoders see, and what they give.

One place owns which views each encoder runs on (whole images, GLGF's
crops, routing tiles) and the four ways the encoders can be set up: no
GLGF; GLGF with its own content encoder; GLGF with DA-CLIP, which gives the
content side in the same pass; GLGF with one tower serving both sides.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
import torch.nn as nn

from sler_ir_mm.models.encoders import BaseViewEncoder, EncoderOutput
from sler_ir_mm.utils.view_geometry import (Box, encoder_views,
                                            routing_tile_boxes)

__all__ = ['BatchEncoder', 'EncodedBatch']


class EncodedBatch(NamedTuple):
    """What the encoders (and GLGF) give the router and the backbone.

    Attributes:
        degradation_cls (Tensor | None): (B, D) degradation embedding of
            each whole image; None when the router reads routing tiles and
            nothing else reads the whole images' degradation view (it is
            then not encoded).
        prior (Tensor | None): (B, N, P) GLGF restoration prior tokens.
        grid_hw (tuple | None): The prior's patch grid (h, w).
        routing_cls (Tensor | None): (B * T, D) degradation embeddings the
            router reads, image-major: the T routing tiles of each image
            (see ``SLERRestorer.route_tile_size``); None: the whole images'
            ``degradation_cls`` (T = 1).
        num_tiles (int): Routing tiles T per image.
    """
    degradation_cls: Optional[torch.Tensor]
    prior: Optional[torch.Tensor] = None
    grid_hw: Optional[Tuple[int, int]] = None
    routing_cls: Optional[torch.Tensor] = None
    num_tiles: int = 1

    @property
    def router_input(self) -> torch.Tensor:
        """(B * T, D): what the router reads."""
        return self.degradation_cls if self.routing_cls is None else \
            self.routing_cls


class BatchEncoder:
    """Runs a restorer's encoders, each once, on the views a batch needs.

    The degradation encoder sees the whole images (what the router reads,
    unless it routes on tiles, and, when this encoder also gives GLGF's
    content side, what GLGF reads), GLGF's ``crop_grid x crop_grid`` crops
    of each image, and the routing tiles of each image; a content encoder
    sees the whole images. No view is encoded whose output nobody reads.

    A plain object, not a module: it holds the restorer's modules and
    settings (the restorer makes one when it needs it), so the state dict
    stays the restorer's own.

    Args:
        degradation_encoder (BaseViewEncoder): Feeds the router (and GLGF's
            crop side).
        content_encoder (BaseViewEncoder, optional): GLGF's content side;
            None: the degradation encoder's (DA-CLIP's content output, or
            the same tower's output).
        glgf (nn.Module, optional): The GLGF neck; None: no prior.
        route_tile_size (int, optional): Route images larger than this on
            tiles of this size (:func:`routing_tile_boxes`).
        route_max_tiles_per_side (int): Most routing tiles along a side.
            Default: 2.
    """

    def __init__(self,
                 degradation_encoder: BaseViewEncoder,
                 content_encoder: Optional[BaseViewEncoder] = None,
                 glgf: Optional[nn.Module] = None,
                 route_tile_size: Optional[int] = None,
                 route_max_tiles_per_side: int = 2) -> None:
        self.degradation_encoder = degradation_encoder
        self.content_encoder = content_encoder
        self.glgf = glgf
        self.route_tile_size = route_tile_size
        self.route_max_tiles_per_side = route_max_tiles_per_side

    @property
    def content_side(self) -> BaseViewEncoder:
        """The encoder whose tokens GLGF reads."""
        return self.content_encoder or self.degradation_encoder

    def tile_boxes(self, inputs: torch.Tensor) -> Optional[List[Box]]:
        """Routing tiles of a batch (:func:`routing_tile_boxes`), or None to
        route on the whole images."""
        h, w = inputs.shape[-2:]
        return routing_tile_boxes(h, w, self.route_tile_size,
                                  self.route_max_tiles_per_side)

    def _encodes_whole(self, tile_boxes: Optional[List[Box]],
                       with_prior: bool) -> bool:
        """Whether the degradation encoder must see the whole images."""
        # The router reads them unless it routes on tiles; GLGF reads their
        # content side when the degradation encoder gives it (DA-CLIP's
        # controls for the content tower come from the same views).
        return not tile_boxes or (with_prior and self.glgf is not None
                                  and self.content_encoder is None)

    def run(self,
            inputs: torch.Tensor,
            tile_boxes: Optional[List[Box]] = None,
            with_prior: bool = True
            ) -> Tuple[EncoderOutput, Optional[EncoderOutput]]:
        """Run each encoder once on all the views it needs.

        Args:
            inputs (Tensor): (B, 3, H, W) images in [0, 1], any size.
            tile_boxes (list[tuple], optional): Routing tiles
                (:meth:`tile_boxes`).
            with_prior (bool): Encode what GLGF needs too (if there is a
                GLGF); False: only what the router reads. Default: True.

        Returns:
            tuple: ``(degradation, content)`` encoder outputs. Degradation:
            the B whole images (left out when the router reads tiles and
            GLGF takes its content from a content encoder or there is no
            prior), then (with the prior) the ``crop_grid ** 2`` crops of
            each image, then the routing tiles of each image. Content: None
            without the prior; else outputs whose first B rows are the
            whole images.
        """
        deg = self.degradation_encoder
        glgf = self.glgf if with_prior else None
        views = deg.preprocess(
            encoder_views(inputs, deg.image_size,
                          glgf.crop_grid if glgf is not None else 0,
                          tile_boxes,
                          whole=self._encodes_whole(tile_boxes, with_prior)))
        if glgf is None:
            return deg.forward_preprocessed(views), None
        if self.content_encoder is not None:
            enc = self.content_encoder
            content = enc.forward_preprocessed(
                enc.preprocess(encoder_views(inputs, enc.image_size)))
            return deg.forward_preprocessed(views), content
        if deg.provides_content:
            # The content side is read for the whole images only.
            content, degradation = deg.forward_both_preprocessed(
                views, num_content=inputs.size(0))
            return degradation, content
        # One tower serves both sides.
        degradation = deg.forward_preprocessed(views)
        return degradation, degradation

    def encode(self,
               inputs: torch.Tensor,
               with_prior: bool = True) -> EncodedBatch:
        """Encoder outputs and GLGF's prior for a batch of images in [0, 1].

        Args:
            inputs (Tensor): (B, 3, H, W) images in [0, 1], any size.
            with_prior (bool): Compute GLGF's prior (if there is a GLGF);
                False encodes only the views the router reads.
                Default: True.
        """
        boxes = self.tile_boxes(inputs)
        degradation, content = self.run(inputs, boxes, with_prior)
        b = inputs.size(0)
        num_whole = b if self._encodes_whole(boxes, with_prior) else 0
        num_tiles = len(boxes) if boxes else 1
        degradation_cls = degradation.cls[:b] if num_whole else None
        routing_cls = degradation.cls[-b * num_tiles:] if boxes else None
        if content is None:
            return EncodedBatch(degradation_cls, None, None, routing_cls,
                                num_tiles)
        grid = self.glgf.crop_grid
        grid_hw = tuple(self.content_side.grid_size)
        crops = degradation.cls[num_whole:num_whole + b * grid * grid]
        prior = self.glgf(content.cls[:b], content.tokens[:b],
                          crops.view(b, grid * grid, -1), grid_hw)
        return EncodedBatch(degradation_cls, prior, grid_hw, routing_cls,
                            num_tiles)
