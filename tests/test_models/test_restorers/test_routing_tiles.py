"""Routing on tiles of the training scale (SLERRestorer.route_tile_size)."""
import pytest
import torch
import torch.nn.functional as F
from test_sler_restorer import batch, tiny_restorer

from sler_ir_mm.models.routers import RoutingResult
from sler_ir_mm.utils.view_geometry import encoder_views, routing_tile_boxes


def test_tile_boxes():
    # Fits in one tile: route on the whole image.
    assert routing_tile_boxes(64, 64, 64, 4) is None
    assert routing_tile_boxes(500, 300, None, 4) is None
    # 128 x 128 with 64-pixel tiles: a 2 x 2 grid covering the image.
    assert routing_tile_boxes(128, 128, 64, 4) == [
        (0, 0, 64, 64), (0, 64, 64, 64), (64, 0, 64, 64), (64, 64, 64, 64)]
    # 100 x 150: overlapping tiles, first at 0, last at the far edge.
    boxes = routing_tile_boxes(100, 150, 64, 4)
    assert [b[0] for b in boxes[::3]] == [0, 36]
    assert [b[1] for b in boxes[:3]] == [0, 43, 86]
    # A large image: at most 4 x 4, spread over it.
    boxes = routing_tile_boxes(1000, 1000, 64, 4)
    assert len(boxes) == 16 and boxes[-1][:2] == (936, 936)
    # Thinner than a tile on one side: the tile takes the image's height.
    assert routing_tile_boxes(40, 200, 64, 4)[0] == (0, 0, 40, 64)


def test_encoder_views_keep_the_native_scale_of_tiles():
    img = torch.rand(2, 3, 128, 128)
    boxes = routing_tile_boxes(128, 128, 64, 4)
    views = encoder_views(img, (64, 64), crop_grid=4, tile_boxes=boxes)
    # 2 whole images, 2 x 16 crops, 2 x 4 tiles, image-major.
    assert views.shape == (2 + 32 + 8, 3, 64, 64)
    # A tile is cut at full resolution: the pixels themselves.
    assert torch.equal(views[34 + 4 + 1], img[1, :, 0:64, 64:128])
    assert torch.equal(
        encoder_views(img, (64, 64), tile_boxes=boxes, whole=False),
        views[34:])


def test_default_routes_on_at_most_2_x_2_tiles():
    model = tiny_restorer(route_tile_size=16)
    assert len(model.routing_tiles(torch.rand(1, 3, 200, 300))) == 4


def test_route_and_restore_take_the_same_tiled_route():
    torch.manual_seed(0)
    model = tiny_restorer(route_tile_size=16, route_max_tiles_per_side=3).eval()
    x = torch.rand(2, 3, 32, 40)
    with torch.no_grad():
        routed = model.route(x)
        encoded = model.encode(x)
        assert encoded.num_tiles == 6 and encoded.routing_cls.shape[0] == 12
        again = model.route_encoded(encoded)
        assert torch.equal(routed.indices, again.indices)
        assert torch.allclose(routed.probs, again.probs, atol=1e-6)
        # The image's route: arg-max of its tiles' mean probabilities.
        tiles = encoder_views(x, (128, 128), tile_boxes=model.routing_tiles(
            x), whole=False)
        per_tile = model.router(model.degradation_encoder(tiles).cls)
        mean = per_tile.probs.view(2, 6, 8, 3).mean(1)
        assert torch.allclose(routed.probs, mean, atol=1e-6)
        assert torch.equal(routed.indices, mean.argmax(-1))
        assert torch.allclose(routed.embeddings.norm(dim=-1),
                              torch.ones(2, 8))
        pred = model(x, mode='predict')
    assert torch.equal(torch.stack([p.output.route for p in pred]),
                       routed.indices)


def test_patch_of_tile_size_routes_whole():
    """Training patches of the tile size are one tile: no extra views, the
    same route as without tiles."""
    torch.manual_seed(0)
    plain = tiny_restorer()
    tiled = tiny_restorer(route_tile_size=16)
    tiled.load_state_dict(plain.state_dict())
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        assert tiled.encode(x).routing_cls is None
        assert torch.equal(tiled.route(x).probs, plain.route(x).probs)
    inputs, samples = batch([0, 1, 1])
    tiled.train()
    assert 'loss_hc' in tiled(inputs, samples, mode='loss')


def test_classifier_router_aggregates_class_probabilities():
    torch.manual_seed(0)
    model = tiny_restorer(
        router=dict(type='ClassifierRouter', num_classes=5),
        contrastive_loss=None)
    router = model.router
    feats = torch.randn(6, router.in_channels)
    tiles = router(feats)
    image = router.aggregate_tiles(tiles, 3)
    mean = tiles.class_logits.softmax(-1).view(2, 3, 5).mean(1)
    classes = mean.argmax(-1)
    # A route of the table: the route of the most probable mean class.
    assert torch.equal(image.indices, router.expert_map[:, classes].t())
    assert torch.allclose(image.class_logits.softmax(-1), mean, atol=1e-6)
    assert router.aggregate_tiles(tiles, 1) is tiles


def test_spherical_aggregate():
    torch.manual_seed(0)
    model = tiny_restorer()
    tiles = model.router(torch.randn(4, model.router.in_channels))
    image = model.router.aggregate_tiles(tiles, 2)
    assert isinstance(image, RoutingResult)
    assert torch.allclose(image.probs, tiles.probs.view(2, 2, 8, 3).mean(1))
    assert torch.allclose(
        image.embeddings,
        F.normalize(tiles.embeddings.view(2, 2, 8, -1).mean(1), dim=-1))


def test_bad_tile_arguments():
    with pytest.raises(ValueError, match='route_tile_size'):
        tiny_restorer(route_tile_size=0)
    with pytest.raises(ValueError, match='route_max_tiles_per_side'):
        tiny_restorer(route_max_tiles_per_side=0)
