import io

import numpy as np
import pytest
import torch

import sler_ir_mm  # noqa: F401  (applies the fixes)
from sler_ir_mm import compat


def test_numpy_bool8_alias():
    assert np.bool8 is np.bool_


def _patched_state() -> dict:
    """What each fix sets in third-party code."""
    import mmengine.runner as runner_pkg
    from mmengine.runner import checkpoint, runner
    from mmengine.runner.checkpoint import CheckpointLoader
    return dict(
        bool8=np.bool8,
        safe_globals=set(torch.serialization.get_safe_globals()),
        local_loader=CheckpointLoader._schemes[''],
        save_checkpoint=[m.save_checkpoint
                         for m in (checkpoint, runner, runner_pkg)])


def test_fixes_are_idempotent(tmp_path, monkeypatch):
    """Applying the fixes again changes nothing: every fix (bool8, the
    allow-list, the scoped checkpoint loader, atomic checkpoint writes)
    is in place once."""
    from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint
    compat.apply_runtime_fixes()
    first = _patched_state()
    compat.apply_runtime_fixes()
    compat.apply_runtime_fixes()
    again = _patched_state()
    assert again['bool8'] is np.bool_
    assert again['safe_globals'] == first['safe_globals']
    assert set(compat.MMENGINE_CHECKPOINT_SAFE_GLOBALS) <= \
        again['safe_globals']
    assert again['local_loader'] is first['local_loader']
    assert all(f is first['save_checkpoint'][0]
               for f in first['save_checkpoint'] + again['save_checkpoint'])
    # MMEngine's local loader is wrapped once, around MMEngine's own.
    local = CheckpointLoader._schemes['']
    assert local.sler_ir_scoped
    assert not getattr(local.__wrapped__, 'sler_ir_scoped', False)
    # A save writes through one temporary file (a second wrapper would
    # write <name>.tmp.tmp), and still loads.
    from mmengine.fileio.backends import LocalBackend
    written = []
    put = LocalBackend.put

    def recorded(backend, obj, filepath):
        written.append(str(filepath))
        return put(backend, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', recorded)
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint(dict(state_dict=dict(w=torch.ones(2))), path)
    assert written == [f'{path}.tmp']
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']
    assert torch.equal(
        torch.load(path, weights_only=True)['state_dict']['w'],
        torch.ones(2))


def _mmengine_checkpoint(path):
    """What MMEngine puts in a checkpoint: a message hub, numpy meta."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_compat_hub')
    hub.update_scalar('train/loss', np.float32(0.5))
    hub.update_scalar('train/lr', 1e-4)
    hub.update_info('iter', 3)
    torch.save(
        dict(meta=dict(iter=3, seed=np.int64(7), arr=np.arange(3.)),
             message_hub=hub.state_dict(),
             state_dict=dict(w=torch.ones(2))), path)


def _check_loaded(loaded):
    from mmengine.logging import HistoryBuffer
    assert isinstance(loaded['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    np.testing.assert_array_equal(loaded['meta']['arr'], np.arange(3.))
    assert loaded['meta']['seed'] == 7


def test_safe_load_of_mmengine_message_hub_state(tmp_path):
    """An MMEngine checkpoint loads safely where checkpoints are loaded:
    MMEngine's loader (load_from, resume) and load_checkpoint_file."""
    from mmengine.runner.checkpoint import _load_checkpoint

    from sler_ir_mm.utils.checkpoint_io import load_checkpoint_file
    path = str(tmp_path / 'epoch_1.pth')
    _mmengine_checkpoint(path)
    _check_loaded(_load_checkpoint(path, map_location='cpu'))
    _check_loaded(load_checkpoint_file(path))


def test_getattr_is_allowed_only_in_checkpoint_loads(tmp_path):
    """The message hub's HistoryBuffer is what needs getattr (its state
    holds HistoryBuffer.min etc.); it is allowed inside the checkpoint
    loads only, not in every safe load of the process."""
    from sler_ir_mm.utils.checkpoint_io import mmengine_checkpoint_globals
    path = str(tmp_path / 'epoch_1.pth')
    _mmengine_checkpoint(path)
    assert getattr not in torch.serialization.get_safe_globals()
    with pytest.raises(Exception, match='getattr'):
        torch.load(path, weights_only=True)
    with mmengine_checkpoint_globals():
        _check_loaded(torch.load(path, weights_only=True))
    assert getattr not in torch.serialization.get_safe_globals()
    # Without the message hub, nothing needs it.
    state = torch.load(path, weights_only=False)
    del state['message_hub']
    torch.save(state, path)
    torch.load(path, weights_only=True)


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
