"""GLGF injection into the 8 routed layers (dim-48 SLERNet shapes), before
(PriorInjection of commit 1fc59f1, read from git) and after, same process,
interleaved, fastest of 5. Run from the repository root."""
import subprocess, time, types, torch
import sler_ir_mm  # noqa
from sler_ir_mm.models.necks.glgf import PriorInjection as New
_src = subprocess.run(
    ['git', 'show', '1fc59f1:sler_ir_mm/models/necks/glgf.py'],
    check=True, capture_output=True, text=True).stdout.replace(
        '@MODELS.register_module()', '@MODELS.register_module(force=True)')
_old = types.ModuleType('glgf_before')
exec(compile(_src, 'glgf_before.py', 'exec'), _old.__dict__)
Old = _old.PriorInjection
torch.set_num_threads(2); torch.manual_seed(0)
layers = [(48,1,1),(96,2,2),(192,4,4),(384,8,8),(192,4,4),(96,2,2),(96,1,1),(96,1,1)]
prior = torch.randn(1, 49, 256)
for size in (256, 512):
    mods = []
    for c, d, h in layers:
        new = New(256, c, h); old = Old(256, c, h)
        torch.nn.init.normal_(new.out_proj.weight, std=0.02)
        old.load_state_dict(new.state_dict())
        mods.append((old, new, torch.randn(1, c, size // d, size // d) + 1))
    with torch.no_grad():
        err = max((o(f, prior, (7, 7)) - n(f, prior, (7, 7))).abs().max().item() for o, n, f in mods)
        times = {'old': [], 'new': []}
        for _ in range(5):
            for k, idx in (('old', 0), ('new', 1)):
                t = time.perf_counter()
                for m in mods: m[idx](m[2], prior, (7, 7))
                times[k].append(time.perf_counter() - t)
    print(f'{size}x{size}: injection before {min(times["old"]):.3f} s, after {min(times["new"]):.3f} s, max |diff| {err:.1e}')
