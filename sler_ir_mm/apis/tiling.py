"""Restore an image in overlapping tiles blended with linear ramps, which
bounds the memory a large image needs."""
from typing import Callable, Optional

import torch

from sler_ir_mm.utils.view_geometry import Box, tile_starts

__all__ = [
    'AUTO_TILE_MIN_PIXELS', 'DEFAULT_TILE', 'ProgressFn', 'RegionFn',
    'auto_tile', 'ramp', 'restore_tiled'
]

# restore(region, box) -> the restored region.
RegionFn = Callable[[torch.Tensor, Box], torch.Tensor]
# progress(done, total): tiles restored so far, of all.
ProgressFn = Callable[[int, int], None]

#: The tile side images are restored in when tiling is automatic, chosen
#: from measured peak memory (docs/tools.md, "Large photos"): with the
#: paper-size model a tile of this side keeps a 4000 x 3000 photo under
#: 8 GB on a CPU.
DEFAULT_TILE = 512
#: Images with more pixels than this are tiled when tiling is automatic:
#: one tile's area, so no automatic pass is larger than a tile (the peak
#: memory grows with the pixels of a pass).
AUTO_TILE_MIN_PIXELS = DEFAULT_TILE * DEFAULT_TILE


def auto_tile(height: int, width: int) -> Optional[int]:
    """The tile side to restore an image of this size in by default:
    :data:`DEFAULT_TILE` above :data:`AUTO_TILE_MIN_PIXELS` pixels, else
    None (the whole image at once)."""
    return DEFAULT_TILE if height * width > AUTO_TILE_MIN_PIXELS else None


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


def restore_tiled(restore: RegionFn,
                  inputs: torch.Tensor,
                  tile: Optional[int],
                  overlap: int,
                  progress: Optional[ProgressFn] = None) -> torch.Tensor:
    """Restore ``inputs`` whole or in overlapping tiles.

    Args:
        restore (callable): ``restore(region, box)`` -> restored region.
        inputs (Tensor): (B, C, H, W) model inputs.
        tile (int, optional): Tile side; None, or an image no larger than a
            tile, restores the whole image in one call.
        overlap (int): Overlap of neighbouring tiles, in [0, tile).
        progress (callable, optional): Called as ``progress(done, total)``
            after each tile (once, ``(1, 1)``, for a whole image).

    Returns:
        Tensor: (B, C, H, W) float32 restored images.
    """
    height, width = inputs.shape[-2:]
    if tile is None or (height <= tile and width <= tile):
        out = restore(inputs, (0, 0, height, width))
        if progress is not None:
            progress(1, 1)
        return out
    tile_h, tile_w = min(tile, height), min(tile, width)
    weight = (
        ramp(tile_h, overlap, inputs.device)[:, None] *
        ramp(tile_w, overlap, inputs.device)[None, :])
    out = inputs.new_zeros(inputs.shape, dtype=torch.float32)
    total = inputs.new_zeros((height, width), dtype=torch.float32)
    boxes = [(top, left) for top in tile_starts(height, tile_h, overlap)
             for left in tile_starts(width, tile_w, overlap)]
    for done, (top, left) in enumerate(boxes, 1):
        region = inputs[..., top:top + tile_h, left:left + tile_w]
        pred = restore(region, (top, left, tile_h, tile_w))
        out[..., top:top + tile_h, left:left + tile_w] += \
            pred.float() * weight
        total[top:top + tile_h, left:left + tile_w] += weight
        if progress is not None:
            progress(done, len(boxes))
    return out / total
