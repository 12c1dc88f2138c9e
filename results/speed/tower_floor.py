"""Is a ViT-B-32 view at the machine's matrix-product floor?

Times one CLIP tower (random weights) on 21 views of 224 x 224, and the
tower's matrix products alone on the same token count (12 layers of QKV,
attention output, MLP up and down), same process, fastest of 3. A ratio
near 1 means the tower's time is its matrix products; only fewer views or
a cheaper number format would make it faster.
Run: python results/speed/tower_floor.py
"""
import time

import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

import sler_ir_mm  # noqa: F401

init_default_scope('mmagic')
torch.set_num_threads(2)
torch.manual_seed(0)
enc = MODELS.build(
    dict(type='CLIPImageEncoder', model_name='ViT-B-32',
         random_init=True)).eval()
views = torch.randn(21, 3, 224, 224)
tokens = torch.randn(21 * 50, 768)
weights = [torch.randn(768, 3 * 768), torch.randn(768, 768),
           torch.randn(768, 3072), torch.randn(3072, 768)]


def tower():
    enc.forward_preprocessed(views)


def gemms():
    x = tokens
    for _ in range(12):
        x.mm(weights[0])
        x.mm(weights[1])
        h = x.mm(weights[2])
        h.mm(weights[3])


times = {'tower, 21 views': [], 'its matrix products only': []}
with torch.inference_mode():
    for _ in range(3):
        for name, fn in zip(times, (tower, gemms)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
flops = 12 * 2 * 21 * 50 * 768 * (3 * 768 + 768 + 3072 + 3072)
best = {k: min(v) for k, v in times.items()}
for k, v in best.items():
    print(f'{k}: {v:.3f} s ({flops / v / 1e9:.0f} GFLOP/s of the matrix '
          'products)')
print(f'tower / matrix products: {best["tower, 21 views"] / best["its matrix products only"]:.2f}')
