"""count_parameters: total vs per-image (one expert per routed layer)."""
import pytest
from mmagic.registry import MODELS

from sler_ir_mm.evaluation import count_parameters

NET = dict(
    type='SLERNet', dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1,
    heads=(1, 1, 2, 2))


def build(**kwargs):
    return MODELS.build(dict(NET, **kwargs))


def test_one_expert_counts_everything():
    count = count_parameters(build(num_experts=1))
    assert count.active == count.total
    assert 0 < count.routed < count.total


@pytest.mark.parametrize('num_experts', [2, 3, 4])
def test_active_is_one_expert_path(num_experts):
    single = count_parameters(build(num_experts=1))
    count = count_parameters(build(num_experts=num_experts))
    # The experts are copies of the C = 1 path; the rest is shared.
    assert count.active == single.total
    assert count.routed == num_experts * single.routed
    assert count.total == single.total + (num_experts - 1) * single.routed


def test_plain_restormer_is_all_active():
    model = MODELS.build(
        dict(type='Restormer', dim=8, num_blocks=[1, 1, 1, 1],
             num_refinement_blocks=1, heads=[1, 1, 2, 2]))
    count = count_parameters(model)
    assert count.total == count.active == sum(
        p.numel() for p in model.parameters())
    assert count.routed == 0


def test_not_a_module():
    with pytest.raises(TypeError, match='nn.Module'):
        count_parameters({'a': 1})
