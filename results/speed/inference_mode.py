"""restore_image under torch.no_grad (as shipped) against
torch.inference_mode: full-size SLER-IR with DA-CLIP (random weights), one
256 x 256 image, same process, interleaved, fastest of 3; the outputs must
be equal.
Run from the repository root: python results/speed/inference_mode.py
"""
import sys
import time

import numpy as np
import torch
from mmengine.registry import init_default_scope

sys.argv = ['x']
sys.path.insert(0, 'tools/analysis_tools')
import benchmark_inference as bi  # noqa: E402

from sler_ir_mm.apis import restore_image  # noqa: E402

init_default_scope('mmagic')
torch.set_num_threads(2)
torch.manual_seed(0)
model = bi.sler_ir('daclip')
image = (np.random.default_rng(0).random((256, 256, 3)) * 255).astype(
    np.uint8)
plain = restore_image.__wrapped__
modes = {'no_grad': torch.no_grad, 'inference_mode': torch.inference_mode}
outs, times = {}, {k: [] for k in modes}
for k, mode in modes.items():
    with mode():
        outs[k] = plain(model, image).image
for _ in range(3):
    for k, mode in modes.items():
        with mode():
            t = time.perf_counter()
            plain(model, image)
            times[k].append(time.perf_counter() - t)
best = {k: min(v) for k, v in times.items()}
print('runs', {k: [round(x, 3) for x in v] for k, v in times.items()})
print(f'no_grad {best["no_grad"]:.3f} s, inference_mode '
      f'{best["inference_mode"]:.3f} s, ratio '
      f'{best["inference_mode"] / best["no_grad"]:.3f}; outputs equal: '
      f'{np.array_equal(outs["no_grad"], outs["inference_mode"])}')
