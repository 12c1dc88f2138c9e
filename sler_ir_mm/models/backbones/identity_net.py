"""A backbone that returns its input, to score the degraded inputs."""
import torch
import torch.nn as nn
from mmagic.registry import MODELS


@MODELS.register_module()
class IdentityNet(nn.Module):
    """Returns its input unchanged.

    In ``BaseEditModel(generator=dict(type='IdentityNet'))`` it makes the
    "prediction" the degraded input itself, so the test loop scores the
    inputs against their ground truth (the "Input" row of a results table;
    ``tools/test.py CONFIG --degraded-inputs``). It has no parameters.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
