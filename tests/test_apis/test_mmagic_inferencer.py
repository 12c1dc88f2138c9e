"""MMagic's own inferencer (``mmagic.apis.MMagicInferencer``) on this
project's models: the import fixes of :mod:`sler_ir_mm.compat` (4: the
controlnet_aux / mediapipe import, 5: restormer's task) and the configs'
``inference_pipeline``.

``mmagic.apis`` is imported in subprocesses only: a fresh interpreter shows
that ``import sler_ir_mm`` alone is enough (nothing this test session
imported earlier can mask a failure), and its heavy imports (diffusers,
controlnet_aux) stay out of the test session.
"""
import importlib
import json
import os
import os.path as osp
import subprocess
import sys
import types
import warnings

import pytest

from sler_ir_mm import compat


def run_python(code: str, cwd: str, timeout: int = 300) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (
        f'failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


IMPORT_CODE = """
import json, sys, warnings
import sler_ir_mm
try:
    import mediapipe
except ImportError:
    mediapipe = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    from mmagic.apis import MMagicInferencer
from controlnet_aux.mediapipe_face import mediapipe_face_common as common
MMagicInferencer.init_inference_supported_models_cfg()
print(json.dumps(dict(
    has_solutions=hasattr(mediapipe, 'solutions'),
    installed=mediapipe is not None,
    same_mediapipe=sys.modules.get('mediapipe') is mediapipe,
    common_sees_mediapipe=common.mp is not None,
    warned=any('has no `solutions`' in str(w.message) for w in caught),
    restormer_task=MMagicInferencer.inference_supported_models_cfg[
        'restormer']['task'])))
"""


def test_mmagic_apis_imports_after_sler_ir_mm(repo_root):
    """``from mmagic.apis import MMagicInferencer`` works in a fresh
    interpreter after ``import sler_ir_mm``; mediapipe stays importable,
    and is hidden from controlnet_aux only when it lacks ``solutions``."""
    out = run_python(IMPORT_CODE, repo_root)
    assert out['same_mediapipe']
    hidden = out['installed'] and not out['has_solutions']
    assert out['common_sees_mediapipe'] == (out['installed']
                                            and not hidden)
    assert out['warned'] == hidden
    # MMagic 1.2.0's metafile says 'Deraining', which its dispatch rejects.
    assert out['restormer_task'] == 'Denoising, Deblurring, Deraining'


def test_import_fixes_are_idempotent():
    compat.apply_runtime_fixes()
    compat.apply_runtime_fixes()
    finders = [
        f for f in sys.meta_path
        if getattr(f, 'sler_ir_import_fixes', False)
    ]
    assert len(finders) == 1
    # The finder answers for its modules only.
    assert finders[0].find_spec('json', None) is None


def _fake_inferencer():
    """A stand-in for MMagicInferencer's metafile reading."""

    class FakeInferencer:
        inference_supported_models_cfg = {}
        reads = 0

        @staticmethod
        def init_inference_supported_models_cfg():
            FakeInferencer.reads += 1
            FakeInferencer.inference_supported_models_cfg.update(
                restormer=dict(task='Deraining'),
                nafnet=dict(task='Image Restoration'))

    return FakeInferencer


def test_inferencer_task_fix():
    inferencer = _fake_inferencer()
    compat._fix_inferencer_tasks(inferencer)
    fixed = inferencer.init_inference_supported_models_cfg
    compat._fix_inferencer_tasks(inferencer)  # once only
    assert inferencer.init_inference_supported_models_cfg is fixed
    inferencer.init_inference_supported_models_cfg()
    assert inferencer.reads == 1
    assert inferencer.inference_supported_models_cfg == dict(
        restormer=dict(task='Denoising, Deblurring, Deraining'),
        nafnet=dict(task='Image Restoration'))


PROBE = """
try:
    import mediapipe as mp
except ImportError:
    mp = None
"""


@pytest.mark.parametrize('has_solutions', [False, True])
def test_mediapipe_is_hidden_from_the_fixed_module_only(
        tmp_path, monkeypatch, has_solutions):
    """Through the import hook, as controlnet_aux's module is imported: a
    mediapipe without ``solutions`` looks absent to that module, and is
    back in ``sys.modules`` afterwards."""
    fake = types.ModuleType('mediapipe')
    if has_solutions:
        fake.solutions = types.SimpleNamespace()
    monkeypatch.setitem(sys.modules, 'mediapipe', fake)
    (tmp_path / 'sler_ir_probe_mp.py').write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(compat._IMPORT_FIXES, 'sler_ir_probe_mp',
                        compat._exec_hiding_mediapipe)
    monkeypatch.delitem(sys.modules, 'sler_ir_probe_mp', raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        probe = importlib.import_module('sler_ir_probe_mp')
    assert isinstance(probe.__loader__, compat._FixingLoader)
    assert sys.modules['mediapipe'] is fake
    assert probe.mp is (fake if has_solutions else None)
    warned = [w for w in caught if 'has no `solutions`' in str(w.message)]
    assert len(warned) == (0 if has_solutions else 1)


ROUND_TRIP_CODE = """
import json, sys
import mmcv, numpy as np, torch
import sler_ir_mm
from mmagic.apis import MMagicInferencer
from sler_ir_mm.apis import init_restorer, restore_image

work = sys.argv[1]
rng = np.random.default_rng(0)
img = rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)  # not 8 x k
src = f'{work}/input.png'
mmcv.imwrite(img, src)
report = {}
for name in ('sler_ir_smoke', 'restormer_smoke'):
    config = f'configs/smoke/{name}.py'
    torch.manual_seed(0)
    model = init_restorer(config)
    ckpt = f'{work}/{name}.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out = f'{work}/out/{name}.png'
    inferencer = MMagicInferencer(
        model_name='restormer', model_config=config, model_ckpt=ckpt,
        device='cpu')
    inferencer.infer(img=src, result_out_dir=out)
    restored = mmcv.imread(out)
    ours = restore_image(model, src, channel_order='bgr').image
    report[name] = dict(
        shape=list(restored.shape),
        diff_input=float(np.abs(restored.astype(float) - img).mean()),
        diff_ours=int(np.abs(restored.astype(int) - ours).max()))
print(json.dumps(report))
"""


def test_inferencer_restores_with_the_projects_configs(repo_root, tmp_path):
    """MMagic's documented call, with a shipped config (SLER-IR and the
    plain Restormer baseline, random weights) and its checkpoint, writes the
    restored image: the input's size, unlike the input, and the same pixels
    as the project's own ``restore_image``."""
    code = ROUND_TRIP_CODE.replace('sys.argv[1]', repr(str(tmp_path)))
    report = run_python(code, repo_root)
    for name, result in report.items():
        assert osp.isfile(tmp_path / 'out' / f'{name}.png')
        assert result['shape'] == [40, 52, 3], name
        assert result['diff_input'] > 1, name
        assert result['diff_ours'] == 0, name
