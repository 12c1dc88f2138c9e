"""Tiny model parts that several test files build (random weights, small
dims), and a probe that records what each encoder tower is run on."""
from typing import List, Tuple

import torch.nn as nn

# A SLERNet of the smallest useful size: 3 experts per routed layer.
NET = dict(
    type='SLERNet',
    dim=8,
    num_blocks=(1, 1, 1, 1),
    num_refinement_blocks=1,
    heads=(1, 1, 2, 2),
    num_experts=3)

# An open_clip vision tower of 32 x 32 views (a 4 x 4 patch grid).
TOWER = dict(image_size=32, layers=2, width=32, patch_size=8, head_width=16)


def count_tower_calls(encoder: nn.Module) -> List[Tuple[str, int]]:
    """(tower, batch size) of every later call of the encoder's patch
    embedding(s): one entry per tower pass."""
    calls = []
    for name, module in encoder.named_modules():
        if name.endswith('conv1'):
            module.register_forward_hook(
                lambda m, args, out, name=name: calls.append(
                    (name, args[0].shape[0])))
    return calls
