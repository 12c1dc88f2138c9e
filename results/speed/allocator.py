"""MMagic's Restormer (dim 48) on the CPU with glibc's default allocator
against freed memory kept in the process (what the tools do,
sler_ir_mm/utils/cpu_allocator.py): one process per setting and size,
fastest of 2 runs after a warm-up; kernel (sys) time and peak memory.
Run from the repository root: python results/speed/allocator.py
"""
import os
import subprocess
import sys

CHILD = r'''
import resource, sys, time
import torch
from sler_ir_mm.utils.cpu_allocator import keep_freed_memory
kept = keep_freed_memory()
sys.argv = ['x']
sys.path.insert(0, 'tools/analysis_tools')
import benchmark_inference as bi
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope
init_default_scope('mmagic')
torch.set_num_threads(2)
net = MODELS.build(dict(type='Restormer', **bi.BACKBONE)).eval()
x = torch.rand(1, 3, SIZE, SIZE)
times = []
with torch.no_grad():
    net(x)
    for _ in range(2):
        t = time.perf_counter()
        net(x)
        times.append(time.perf_counter() - t)
u = resource.getrusage(resource.RUSAGE_SELF)
print(f'RESULT size SIZE, freed memory kept: {kept}: {min(times):.2f} s '
      f'(sys {u.ru_stime:.1f} s, user {u.ru_utime:.1f} s, peak '
      f'{u.ru_maxrss / 1024:.0f} MB)')
'''

for size in (256, 512):
    for setting in ('0', '1'):
        out = subprocess.run(
            [sys.executable, '-c', CHILD.replace('SIZE', str(size))],
            env=dict(os.environ, SLER_IR_CPU_ALLOCATOR=setting),
            capture_output=True, text=True, check=True).stdout
        print([line for line in out.splitlines()
               if line.startswith('RESULT')][0][7:], flush=True)
