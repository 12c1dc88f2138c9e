"""Where the views and tiles of an image lie, in one place.

The encoders' views (whole images, GLGF's crop grid, routing tiles of the
training scale) and the tiles that restore a large image piece by piece
are cut here; a region is a :data:`Box`.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

__all__ = ['Box', 'encoder_views', 'routing_tile_boxes', 'tile_starts']

# A region of an image: (top, left, height, width) in pixels.
Box = Tuple[int, int, int, int]


def tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Starts of tiles of size ``min(tile, length)`` covering ``length``."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - overlap))
    # The last tile ends at the border (it may overlap its neighbour more).
    starts.append(length - tile)
    return starts


def routing_tile_boxes(height: int, width: int, tile_size: Optional[int],
                       max_tiles_per_side: int) -> Optional[List[Box]]:
    """Where an image is cut into routing tiles of the training scale.

    Tiles are ``tile_size`` pixels (the training patch size) so that the
    degradation encoder sees a test image at the scale it saw training
    patches: resizing a whole 4x larger image into the encoder's view would
    average sigma-25 noise down to about sigma 6, shorten blur and thin
    rain. At most ``max_tiles_per_side`` tiles per side, evenly spread and
    overlapping where needed to cover the side (larger images are sampled
    on that grid).

    Args:
        height (int): Image height.
        width (int): Image width.
        tile_size (int, optional): Tile side; None routes on the whole
            image.
        max_tiles_per_side (int): Most tiles along one side.

    Returns:
        list[tuple] | None: ``(top, left, h, w)`` per tile, row-major; None
        when the image fits in one tile (route on the whole image: its one
        tile would be the whole image, a duplicate of the whole view).
    """
    if tile_size is None or (height <= tile_size and width <= tile_size):
        return None
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)

    def starts(size: int, tile: int) -> List[int]:
        count = min(math.ceil(size / tile), max_tiles_per_side)
        if count == 1:
            return [(size - tile) // 2]
        return [round(i * (size - tile) / (count - 1)) for i in range(count)]

    return [(top, left, tile_h, tile_w) for top in starts(height, tile_h)
            for left in starts(width, tile_w)]


def _resize(img: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    return F.interpolate(
        img, size=size, mode='bilinear', align_corners=False, antialias=True)


def encoder_views(img: torch.Tensor,
                  size: Tuple[int, int],
                  crop_grid: int = 0,
                  tile_boxes: Optional[List[Box]] = None,
                  whole: bool = True) -> torch.Tensor:
    """All encoder views of a batch, each kind made with one resize.

    Args:
        img (Tensor): (B, 3, H, W) images in [0, 1], any size.
        size (tuple[int, int]): The encoder's input size (S_h, S_w).
        crop_grid (int): If > 0, also cut each image into a fixed
            ``crop_grid x crop_grid`` grid of crops (row-major).
        tile_boxes (list[tuple], optional): Routing tiles
            (:func:`routing_tile_boxes`), cut at full resolution and each
            resized to the view size.
        whole (bool): Include the whole images. Default: True.

    Returns:
        Tensor: (B + B * crop_grid**2 + B * T, 3, S_h, S_w): the B whole
        images, then the crops of image 0, image 1, ..., then the T tiles of
        image 0, image 1, ... Each crop is resized to the view size by
        resizing the whole image to ``crop_grid * size`` once and splitting
        it, which for bilinear resampling equals resizing each crop apart up
        to the pixels along crop borders, and keeps the batch free of
        per-crop Python loops.
    """
    parts = [_resize(img, size)] if whole else []
    if tile_boxes:
        tiles = torch.stack([
            img[..., top:top + h, left:left + w]
            for top, left, h, w in tile_boxes
        ], dim=1)
        parts.append(_resize(tiles.flatten(0, 1), size))
    if crop_grid <= 0:
        return torch.cat(parts) if len(parts) > 1 else parts[0]
    b, c = img.shape[:2]
    sh, sw = size
    big = F.interpolate(
        img,
        size=(crop_grid * sh, crop_grid * sw),
        mode='bilinear',
        align_corners=False,
        antialias=True)
    crops = big.view(b, c, crop_grid, sh, crop_grid, sw).permute(
        0, 2, 4, 1, 3, 5).reshape(b * crop_grid * crop_grid, c, sh, sw)
    parts.insert(1 if whole else 0, crops)
    return torch.cat(parts, dim=0)
