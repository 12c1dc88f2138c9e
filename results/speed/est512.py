"""512x512 estimate column of benchmark_inference.py (Restormer + towers +
GLGF) / Restormer, with the tool's own functions, one Restormer run.

Run from the repository root: python results/speed/est512.py
"""
import sys, time, torch
sys.argv = ['x']
sys.path.insert(0, 'tools/analysis_tools')
import benchmark_inference as bi
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope
init_default_scope('mmagic'); torch.set_num_threads(2); torch.manual_seed(0)
sync = lambda: None
restormer = MODELS.build(dict(type='Restormer', **bi.BACKBONE)).eval()
models = {v: bi.sler_ir(v) for v in ('clip2', 'daclip')}
x = torch.rand(1, 3, 512, 512)
with torch.no_grad():
    restormer(torch.rand(1, 3, 64, 64))
    base = min(bi.wall(lambda: restormer(x), sync) for _ in range(2))
    inj = bi.injection_time(models['daclip'], x, sync)
    print(f'512: Restormer {base:.2f} s, GLGF injection {inj:.3f} s')
    for v, m in models.items():
        p = bi.part_times(m, x, sync)
        est = (base + p['towers'] + p['prior'] + inj) / base
        print(f'  {v}: towers {p["towers"]:.3f} s, prior {p["prior"]:.4f} s, estimate {est:.3f}')
