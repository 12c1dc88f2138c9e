"""What a bfloat16 tower would save, and what it would change (not used:
outputs move far beyond the 1e-5 the speed work allows).

DA-CLIP (ViT-B-32, random weights) on one 256 x 256 image's 21 degradation
views (content tower on the whole image), fp32 against CPU autocast to
bfloat16; same process, fastest of 3; the cosine between the fp32 and the
bf16 degradation CLS of each view.
Run: python results/speed/tower_bf16.py
"""
import time

import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

import sler_ir_mm  # noqa: F401

init_default_scope('mmagic')
torch.set_num_threads(2)
torch.manual_seed(0)
enc = MODELS.build(dict(type='DACLIPEncoder', model_name='ViT-B-32',
                        random_init=True)).eval()
views = torch.rand(21, 3, 224, 224)


def run(bf16: bool):
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        return enc.forward_both_preprocessed(views, num_content=1)


times = {False: [], True: []}
with torch.inference_mode():
    outs = {k: run(k) for k in times}
    for _ in range(3):
        for k in times:
            t = time.perf_counter()
            run(k)
            times[k].append(time.perf_counter() - t)
fp32, bf16 = min(times[False]), min(times[True])
a = outs[False][1].cls.float()
b = outs[True][1].cls.float()
cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
print(f'fp32 {fp32:.3f} s, bf16 {bf16:.3f} s, ratio {bf16 / fp32:.2f}')
print(f'max |diff| of the degradation CLS {(a - b).abs().max():.3g} '
      f'(fp32 values up to {a.abs().max():.3g}); cosine min '
      f'{cos.min():.5f}')
