"""Tiles and their blending (sler_ir_mm.apis.tiling)."""
import torch

from sler_ir_mm.apis.tiling import ramp, restore_tiled
from sler_ir_mm.utils.view_geometry import tile_starts


def test_tiles_cover_the_side_and_end_at_the_border():
    assert tile_starts(40, 48, 16) == [0]
    assert tile_starts(96, 48, 16) == [0, 32, 48]
    for length, tile, overlap in ((100, 32, 8), (33, 16, 0), (97, 48, 47)):
        starts = tile_starts(length, tile, overlap)
        assert starts[0] == 0 and starts[-1] == length - tile
        assert all(b - a <= tile - overlap
                   for a, b in zip(starts, starts[1:]))


def test_ramps_of_neighbours_sum_to_one_over_their_overlap():
    weights = ramp(16, 4, torch.device('cpu'))
    assert (weights > 0).all() and weights.max() == 1
    torch.testing.assert_close(weights[-4:] + weights[:4], torch.ones(4))


def test_tiled_identity_is_exact_and_sees_the_boxes():
    x = torch.rand(1, 3, 50, 70)
    boxes = []

    def restore(region, box):
        top, left, h, w = box
        assert torch.equal(region, x[..., top:top + h, left:left + w])
        boxes.append(box)
        return region

    torch.testing.assert_close(restore_tiled(restore, x, 32, 8), x)
    assert boxes[0] == (0, 0, 32, 32) and boxes[-1] == (18, 38, 32, 32)
    boxes.clear()
    assert restore_tiled(restore, x, None, 8) is x
    assert boxes == [(0, 0, 50, 70)]
