"""Restore an image in overlapping tiles blended with linear ramps, which
bounds the memory a large image needs."""
from typing import Callable, Optional

import torch

from sler_ir_mm.utils.view_geometry import Box, tile_starts

__all__ = ['RegionFn', 'ramp', 'restore_tiled']

# restore(region, box) -> the restored region.
RegionFn = Callable[[torch.Tensor, Box], torch.Tensor]


def ramp(length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """Blending weights along one tile axis: a linear ramp over ``overlap``
    pixels at each end, 1 inside.

    Two neighbours overlapping by exactly ``overlap`` pixels cross-fade with
    weights summing to 1; all weights are > 0, so dividing by the summed
    weights is exact at the image borders too.
    """
    i = torch.arange(length, device=device, dtype=torch.float32)
    weights = torch.minimum(i + 1, length - i) / (overlap + 1)
    return weights.clamp(max=1.0)


def restore_tiled(restore: RegionFn, inputs: torch.Tensor,
                  tile: Optional[int], overlap: int) -> torch.Tensor:
    """Restore ``inputs`` whole or in overlapping tiles.

    Args:
        restore (callable): ``restore(region, box)`` -> restored region.
        inputs (Tensor): (B, C, H, W) model inputs.
        tile (int, optional): Tile side; None, or an image no larger than a
            tile, restores the whole image in one call.
        overlap (int): Overlap of neighbouring tiles, in [0, tile).

    Returns:
        Tensor: (B, C, H, W) float32 restored images.
    """
    height, width = inputs.shape[-2:]
    if tile is None or (height <= tile and width <= tile):
        return restore(inputs, (0, 0, height, width))
    tile_h, tile_w = min(tile, height), min(tile, width)
    weight = (
        ramp(tile_h, overlap, inputs.device)[:, None] *
        ramp(tile_w, overlap, inputs.device)[None, :])
    out = inputs.new_zeros(inputs.shape, dtype=torch.float32)
    total = inputs.new_zeros((height, width), dtype=torch.float32)
    for top in tile_starts(height, tile_h, overlap):
        for left in tile_starts(width, tile_w, overlap):
            region = inputs[..., top:top + tile_h, left:left + tile_w]
            pred = restore(region, (top, left, tile_h, tile_w))
            out[..., top:top + tile_h, left:left + tile_w] += \
                pred.float() * weight
            total[top:top + tile_h, left:left + tile_w] += weight
    return out / total
