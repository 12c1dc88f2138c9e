"""SLERRestorer.plan_restore (route once, restore regions) and the pad
multiple taken from the backbone."""
import torch
from test_sler_restorer import tiny_restorer
from test_sler_restorer_glgf import restorer

from sler_ir_mm.models.backbones import SLERNet
from sler_ir_mm.models.restorers import RestorePlan
from sler_ir_mm.models.restorers.restore_plan import prior_for_region


def test_pad_multiple_comes_from_the_backbone(monkeypatch):
    model = tiny_restorer()
    assert model.pad_multiple == model.generator.size_divisor == 8
    monkeypatch.setattr(SLERNet, 'SIZE_DIVISOR', 16)
    assert tiny_restorer().pad_multiple == 16
    # An explicit value still wins.
    assert tiny_restorer(pad_multiple=4).pad_multiple == 4


def test_the_whole_image_plan_is_the_models_forward():
    torch.manual_seed(0)
    model = restorer().eval()
    x = torch.rand(1, 3, 21, 30)
    with torch.no_grad():
        plan = model.plan_restore(x)
        out = plan(x, (0, 0, 21, 30))
        expected = model.forward_tensor(x)
        route = model.route(x).indices
    assert isinstance(plan, RestorePlan)
    torch.testing.assert_close(out, expected)
    assert torch.equal(plan.route, route)
    assert plan.image_hw == (21, 30) and plan.pad_multiple == 8


def test_a_region_gets_the_route_and_its_part_of_the_prior(monkeypatch):
    torch.manual_seed(0)
    model = restorer().eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        plan = model.plan_restore(x)
        encoded = model.encode(x)
    seen = []

    def spy(region, routing, prior, grid_hw):
        seen.append((region.shape, routing, prior, grid_hw))
        return region

    plan._restore_with_route = spy
    box = (16, 8, 16, 24)
    plan(x[..., 16:32, 8:32], box)
    shape, routing, prior, grid_hw = seen[0]
    assert shape == (1, 3, 16, 24)
    assert torch.equal(routing, plan.routing)
    assert grid_hw == encoded.grid_hw
    torch.testing.assert_close(
        prior, prior_for_region(encoded.prior, encoded.grid_hw, box,
                                (32, 32), model.pad_multiple))
