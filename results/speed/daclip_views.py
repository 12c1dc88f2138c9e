"""DA-CLIP towers on one 256x256 image's views, before (controlled tower on
every view) and after (controlled tower on the whole image only), and with
and without the 4 routing tiles; same process, interleaved, fastest of 3."""
import time, torch, sler_ir_mm  # noqa
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope
init_default_scope('mmagic'); torch.set_num_threads(2); torch.manual_seed(0)
enc = MODELS.build(dict(type='DACLIPEncoder', model_name='ViT-B-32', random_init=True)).eval()
runs = {
  'before: 17 views, both towers on all': (17, None),
  'after: 17 views, content tower on 1': (17, 1),
  'after + 4 routing tiles: 21 views': (21, 1),
}
views = torch.randn(21, 3, 224, 224)
times = {k: [] for k in runs}
with torch.no_grad():
    c_all, d_all = enc.forward_both_preprocessed(views[:17])
    c_one, d_one = enc.forward_both_preprocessed(views[:17], num_content=1)
    print('max |diff| degradation', (d_all.cls - d_one.cls).abs().max().item(),
          'content', (c_all.cls[:1] - c_one.cls).abs().max().item(),
          (c_all.tokens[:1] - c_one.tokens).abs().max().item())
    for _ in range(3):
        for k, (n, num) in runs.items():
            t = time.perf_counter(); enc.forward_both_preprocessed(views[:n], num_content=num)
            times[k].append(time.perf_counter() - t)
for k, v in times.items():
    print(f'{k}: {min(v):.3f} s')
