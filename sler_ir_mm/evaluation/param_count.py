"""Total and per-image (active) parameter counts of a restoration model."""
from typing import NamedTuple

from torch import nn


class ParameterCount(NamedTuple):
    """Parameters of a model.

    Attributes:
        total (int): Every parameter, trainable or frozen.
        active (int): The parameters one image runs through: each routed
            layer counts one expert instead of ``num_experts``. Equal to
            ``total`` for a model without routed layers.
        routed (int): The parameters of all experts of all routed layers
            (0 without routed layers).
    """
    total: int
    active: int
    routed: int


def count_parameters(model: nn.Module) -> ParameterCount:
    """Count the total and active parameters of ``model``.

    A routed layer is any submodule with an ``experts`` ``nn.ModuleList``
    and ``num_experts`` (SLERNet's ``ExpertStack``); an image takes exactly
    one of its experts at test time (stage 2 routing), so it contributes
    one expert's parameters to ``active``. Everything else (stem,
    down/upsampling, encoders, router, GLGF) counts fully.

    Args:
        model (nn.Module): The model, e.g. a built ``SLERRestorer`` or
            MMagic ``BaseEditModel``.

    Returns:
        ParameterCount: ``(total, active, routed)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module, got {type(model)}')
    total = sum(p.numel() for p in model.parameters())
    routed = inactive = 0
    for module in model.modules():
        experts = getattr(module, 'experts', None)
        if not isinstance(experts, nn.ModuleList) or not hasattr(
                module, 'num_experts'):
            continue
        sizes = [sum(p.numel() for p in e.parameters()) for e in experts]
        routed += sum(sizes)
        # Experts of one layer have the same size; take the largest to be
        # safe rather than assume it.
        inactive += sum(sizes) - max(sizes, default=0)
    return ParameterCount(total=total, active=total - inactive,
                          routed=routed)
