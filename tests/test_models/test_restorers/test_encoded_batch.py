"""BatchEncoder: which views each encoder runs on. No tower encodes a view
whose output nobody reads, and the outputs stay those of the full set."""
import pytest
import torch
from mmagic.registry import MODELS
from test_sler_restorer import tiny_restorer
from test_sler_restorer_glgf import clip
from tiny_models import NET, count_tower_calls

from sler_ir_mm.models.restorers import BatchEncoder, EncodedBatch
from sler_ir_mm.utils.view_geometry import encoder_views


def glgf_restorer(degradation=None, content=None, **kwargs):
    return MODELS.build(
        dict(
            type='SLERRestorer',
            generator=NET,
            router=dict(type='SphericalRouter', embed_dim=8),
            degradation_encoder=degradation or clip(),
            content_encoder=content,
            glgf=dict(type='GLGF', prior_dim=16, num_heads=2),
            pixel_loss=dict(type='L1Loss'),
            data_preprocessor=dict(
                type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3),
            **kwargs)).eval()


def count_views(encoder, method='forward_preprocessed'):
    """Batch sizes ``encoder.<method>`` is called with, from now on."""
    calls = []
    original = getattr(encoder, method)

    def wrapped(views, *args, **kwargs):
        calls.append(views.shape[0])
        return original(views, *args, **kwargs)

    setattr(encoder, method, wrapped)
    return calls


def test_a_patch_of_the_tile_size_is_encoded_once():
    """A 128 x 128 training patch with route_tile_size=128 is its own one
    tile: its whole view is encoded once, not again as a tile, and the
    outputs are those of the model without tiles."""
    torch.manual_seed(0)
    plain = tiny_restorer().eval()
    tiled = tiny_restorer(route_tile_size=128).eval()
    tiled.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 128, 128)
    calls = count_views(tiled.degradation_encoder)
    with torch.no_grad():
        encoded = tiled.encode(x)
        routed = tiled.route(x)
        out = tiled.forward_tensor(x)
        assert calls == [2, 2, 2]
        assert encoded.routing_cls is None and encoded.num_tiles == 1
        assert torch.equal(encoded.degradation_cls,
                           plain.encode(x).degradation_cls)
        assert torch.equal(routed.probs, plain.route(x).probs)
        assert torch.equal(out, plain.forward_tensor(x))


def test_a_patch_of_the_tile_size_is_encoded_once_with_glgf():
    torch.manual_seed(0)
    model = glgf_restorer(route_tile_size=32)
    x = torch.rand(2, 3, 32, 32)
    calls = count_tower_calls(model.degradation_encoder)
    with torch.no_grad():
        encoded = model.encode(x)
    # The whole images and GLGF's 4 x 4 crops, no tile.
    assert calls == [('visual.conv1', 2 + 32)]
    assert encoded.routing_cls is None


def test_tiles_without_glgf_encode_only_the_tiles():
    """The router reads the tiles, nothing reads the whole images' view."""
    torch.manual_seed(0)
    model = tiny_restorer(route_tile_size=16,
                          route_max_tiles_per_side=3).eval()
    x = torch.rand(2, 3, 32, 40)
    calls = count_views(model.degradation_encoder)
    with torch.no_grad():
        encoded = model.encode(x)
        routed = model.route(x)
        pred = model(x, mode='predict')
    assert calls == [12, 12, 12]
    assert encoded.degradation_cls is None and encoded.num_tiles == 6
    tiles = encoder_views(x, (128, 128), tile_boxes=model.routing_tiles(x),
                          whole=False)
    with torch.no_grad():
        expected = model.degradation_encoder(tiles).cls
    torch.testing.assert_close(encoded.routing_cls, expected)
    torch.testing.assert_close(encoded.router_input, expected)
    assert torch.equal(torch.stack([p.output.route for p in pred]),
                       routed.indices)


@pytest.mark.parametrize('setup', ['content_encoder', 'one_tower', 'daclip'])
def test_tiles_with_glgf(setup):
    """With GLGF and tiles, the whole images' degradation view is encoded
    only when the degradation encoder also gives GLGF its content side."""
    torch.manual_seed(0)
    kwargs = dict(
        content_encoder=dict(content=clip()),
        one_tower={},
        daclip=dict(degradation=clip('DACLIPEncoder')))[setup]
    model = glgf_restorer(route_tile_size=16, **kwargs)
    x = torch.rand(3, 3, 20, 20)  # 2 x 2 routing tiles of 16 pixels
    calls = count_tower_calls(model.degradation_encoder)
    with torch.no_grad():
        encoded = model.encode(x)
    crops, tiles = 3 * 16, 3 * 4
    if setup == 'content_encoder':
        assert calls == [('visual.conv1', crops + tiles)]
        assert encoded.degradation_cls is None
    elif setup == 'one_tower':
        assert calls == [('visual.conv1', 3 + crops + tiles)]
    else:
        assert sorted(calls) == [('controller.conv1', 3 + crops + tiles),
                                 ('visual.conv1', 3)]
    assert encoded.num_tiles == 4 and encoded.routing_cls.shape[0] == 12
    # GLGF's prior does not depend on the routing tiles.
    model.route_tile_size = None
    with torch.no_grad():
        whole = model.encode(x)
    torch.testing.assert_close(encoded.prior, whole.prior)
    assert encoded.grid_hw == whole.grid_hw


def test_route_encodes_only_what_the_router_reads():
    model = glgf_restorer(content=clip())
    x = torch.rand(2, 3, 20, 20)
    deg_calls = count_tower_calls(model.degradation_encoder)
    content_calls = count_tower_calls(model.content_encoder)
    with torch.no_grad():
        routed = model.route(x)
        again = model.route_encoded(model.encode(x))
    assert [b for _, b in deg_calls] == [2, 2 + 32]
    assert [b for _, b in content_calls] == [2]
    torch.testing.assert_close(routed.probs, again.probs)


def test_run_encoders_layout_without_tiles():
    torch.manual_seed(0)
    model = glgf_restorer()
    x = torch.rand(2, 3, 20, 20)
    with torch.no_grad():
        degradation, content = model.run_encoders(x)
        whole = model.degradation_encoder(x)
    # The whole images first (what the tools slice), then the crops.
    assert degradation.cls.shape[0] == 2 + 32 and content is degradation
    torch.testing.assert_close(degradation.cls[:2], whole.cls)


def test_batch_encoder_is_a_plain_object_over_the_models_modules():
    model = tiny_restorer(route_tile_size=16)
    runner = model.batch_encoder
    assert isinstance(runner, BatchEncoder)
    assert runner.degradation_encoder is model.degradation_encoder
    assert runner.route_tile_size == 16 and runner.glgf is None
    # Not a module: the restorer's state dict keys stay its own.
    assert not any(k.startswith('batch_encoder')
                   for k in model.state_dict())
    encoded = EncodedBatch(torch.zeros(2, 4))
    assert encoded.router_input.shape == (2, 4) and encoded.num_tiles == 1
