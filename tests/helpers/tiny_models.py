"""Tiny model parts that several test files build (random weights, small
dims), and a probe that records what each encoder tower is run on."""
import copy
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


# A degradation-encoder pretraining recipe that trains in about a second:
# a one-block tower of 32 x 32 views, a few iterations on two photos.
TINY_ENCODER_RECIPE = dict(
    name='tiny',
    encoder=dict(
        type='CLIPImageEncoder',
        vision_cfg=dict(image_size=32, layers=1, width=16, patch_size=8,
                        head_width=8),
        embed_dim=8,
        random_init=True),
    data=dict(type='SyntheticDegradationDataset', photos=['camera', 'coins'],
              crop_size=40, view_size=32),
    iters=6, batch_size=4, lr=1e-3, weight_decay=0.0, warmup_iters=2,
    seed=0, val_samples=8, save_interval=2)


def tiny_encoder_recipe(**overrides) -> dict:
    """:data:`TINY_ENCODER_RECIPE` with some keys replaced (a new dict)."""
    return copy.deepcopy(dict(TINY_ENCODER_RECIPE, **overrides))


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
