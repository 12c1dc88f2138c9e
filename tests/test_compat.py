import io

import numpy as np
import pytest
import torch

import sler_ir_mm  # noqa: F401  (applies the fixes)
from sler_ir_mm import compat


def test_numpy_bool8_alias():
    assert np.bool8 is np.bool_


def test_fixes_are_idempotent():
    compat.apply_runtime_fixes()
    compat.apply_runtime_fixes()
    assert np.bool8 is np.bool_


def test_safe_load_of_mmengine_message_hub_state():
    """What MMEngine puts in a checkpoint loads with torch's safe loader."""
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('test_compat_hub')
    hub.update_scalar('train/loss', np.float32(0.5))
    hub.update_scalar('train/lr', 1e-4)
    hub.update_info('iter', 3)
    state = dict(
        meta=dict(iter=3, seed=np.int64(7), arr=np.arange(3.)),
        message_hub=hub.state_dict(),
        state_dict=dict(w=torch.ones(2)))
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3.))
    assert loaded['meta']['seed'] == 7


class NotAllowed:
    pass


def test_unknown_globals_still_refused():
    """We allow-list, we do not switch safe loading off."""
    buf = io.BytesIO()
    torch.save({'x': NotAllowed()}, buf)
    buf.seek(0)
    with pytest.raises(Exception, match='NotAllowed|Unsupported global'):
        torch.load(buf, weights_only=True)


def test_mmagic_imports_with_fixes():
    import mmagic.evaluation  # noqa: F401
    import mmagic.models  # noqa: F401
    from mmagic.registry import MODELS
    assert MODELS.get('Restormer') is not None


def _half_write_then_fail(monkeypatch, written):
    """LocalBackend.put that writes half of the bytes, then fails."""
    from mmengine.fileio.backends import LocalBackend

    def put(backend, obj, filepath):
        written.append(str(filepath))
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError('No space left on device')

    monkeypatch.setattr(LocalBackend, 'put', put)


def test_checkpoints_are_written_atomically(tmp_path):
    from mmengine.runner import checkpoint, runner
    # Runner.save_checkpoint and CheckpointHook go through these names.
    assert checkpoint.save_checkpoint.sler_ir_atomic
    assert runner.save_checkpoint is checkpoint.save_checkpoint
    path = tmp_path / 'epoch_1.pth'
    checkpoint.save_checkpoint(dict(state_dict=dict(w=torch.ones(3))), path)
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(3))


def test_failed_checkpoint_write_leaves_no_partial_file(tmp_path,
                                                        monkeypatch):
    """A write that dies half-way never shows under the checkpoint's name."""
    from mmengine.runner.checkpoint import save_checkpoint
    path = tmp_path / 'epoch_2.pth'
    save_checkpoint(dict(state_dict=dict(w=torch.ones(3))), path)
    before = path.read_bytes()
    written = []
    _half_write_then_fail(monkeypatch, written)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint(dict(state_dict=dict(w=torch.zeros(3))), path)
    assert written == [f'{path}.tmp']
    # The earlier, complete checkpoint of that name is untouched.
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_2.pth']


def test_custom_backends_keep_mmengine_writes(tmp_path, monkeypatch):
    from mmengine.runner.checkpoint import save_checkpoint
    written = []
    _half_write_then_fail(monkeypatch, written)
    path = str(tmp_path / 'epoch_3.pth')
    with pytest.raises(OSError):
        save_checkpoint(
            dict(w=torch.ones(1)), path, backend_args=dict(backend='local'))
    assert written == [path]
