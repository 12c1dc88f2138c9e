"""Reading checkpoint files and unwrapping the weights inside them."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import sler_ir_mm  # noqa: F401  (safe-loading allow-list first)
from sler_ir_mm.utils.checkpoint_io import (CheckpointReadError,
                                            load_checkpoint_file,
                                            unwrap_state_dict)
from sler_ir_mm.utils.errors import SLERIRError


class NotAllowed:
    """A pickled class that safe loading must refuse."""


def test_load_plain_and_legacy_files(tmp_path):
    state = {'w': torch.arange(3.)}
    torch.save(state, tmp_path / 'zip.pth')
    torch.save(state, tmp_path / 'legacy.pth',
               _use_new_zipfile_serialization=False)
    for name in ('zip.pth', 'legacy.pth'):
        for mmap in (False, True):  # legacy files cannot be mapped
            loaded = load_checkpoint_file(tmp_path / name, mmap=mmap)
            assert torch.equal(loaded['w'], state['w'])
            assert loaded['w'].device.type == 'cpu'


def test_mmengine_checkpoint_loads_safely(tmp_path):
    """MMEngine's message hub (HistoryBuffer, numpy) is allow-listed."""
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('test_checkpoint_io_hub')
    hub.update_scalar('train/loss', np.float32(0.5))
    path = tmp_path / 'iter_1.pth'
    torch.save(
        dict(
            meta=dict(iter=1, seed=np.int64(3)),
            message_hub=hub.state_dict(),
            state_dict=dict(w=torch.ones(2))), path)
    for weights_only in (True, None):
        ckpt = load_checkpoint_file(path, weights_only=weights_only)
        assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                          HistoryBuffer)
        assert ckpt['meta']['seed'] == 3


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / 'missing.pth'
    with pytest.raises(FileNotFoundError,
                       match=f'Restormer checkpoint not found: .*missing'):
        load_checkpoint_file(missing, what='Restormer checkpoint')
    with pytest.raises(FileNotFoundError):
        load_checkpoint_file(tmp_path)  # a directory is no checkpoint

    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(b'PK\x03\x04 truncated')
    for mmap in (False, True):
        with pytest.raises(CheckpointReadError) as err:
            load_checkpoint_file(bad, mmap=mmap)
        assert str(err.value).startswith(
            f'cannot read checkpoint {bad} (truncated, or not a PyTorch '
            'checkpoint?): ')
        assert err.value.path == str(bad)
        assert isinstance(err.value.reason, Exception)
        # A user's error (one line from the tools), still a ValueError;
        # MMEngine's registry can rebuild it from the message alone.
        assert isinstance(err.value, SLERIRError)
        assert isinstance(err.value, ValueError)
        assert str(type(err.value)(str(err.value))) == str(err.value)

    # Safe loading stays on: an arbitrary pickled class is refused.
    evil = tmp_path / 'evil.pth'
    torch.save({'x': NotAllowed()}, evil)
    with pytest.raises(CheckpointReadError, match='NotAllowed|Unsupported'):
        load_checkpoint_file(evil)
    assert isinstance(
        load_checkpoint_file(evil, weights_only=False)['x'], NotAllowed)


def test_unwrap_looks_under_the_first_mapping_key():
    w = torch.ones(1)
    assert unwrap_state_dict({'a': w}) == {'a': w}
    # MMEngine's layout; meta and the rest are dropped.
    ckpt = {'meta': {'iter': 1}, 'state_dict': {'a': w}}
    assert unwrap_state_dict(ckpt) == {'a': w}
    # The order of ``keys`` decides; a non-mapping entry is skipped.
    ckpt = {'params': 'oops', 'params_ema': {'b': w}, 'state_dict': {'a': w}}
    assert unwrap_state_dict(
        ckpt, keys=('params', 'params_ema', 'state_dict')) == {'b': w}
    assert unwrap_state_dict(
        ckpt, keys=('state_dict', 'params', 'params_ema')) == {'a': w}
    # No key matches: the mapping itself, e.g. a bare state dict.
    assert unwrap_state_dict({'params': w}, keys=('params', )) == {
        'params': w
    }


def test_unwrap_nested():
    w = torch.ones(1)
    ckpt = {'state_dict': {'state_dict': {'module.a': w}}}
    assert unwrap_state_dict(ckpt) == {'state_dict': {'module.a': w}}
    assert unwrap_state_dict(ckpt, nested=True) == {'a': w}


def test_unwrap_prefixes():
    w, v = torch.ones(1), torch.zeros(1)
    # Stripping: per key, others kept; keys become strings.
    assert unwrap_state_dict({'module.a': w, 'b': v, 3: w}) == {
        'a': w,
        'b': v,
        '3': w
    }
    assert unwrap_state_dict({'module.a': w}, strip_prefixes=()) == {
        'module.a': w
    }
    # Selecting: only the sub-module's keys, in order of the prefixes.
    editor = OrderedDict([('module.generator.conv', w),
                          ('module.router.centers', v)])
    assert unwrap_state_dict(
        editor, strip_prefixes=(),
        select_prefixes=('module.', 'generator.')) == {
            'conv': w
        }
    # A prefix no key has selects nothing away.
    assert unwrap_state_dict({'conv': w}, strip_prefixes=(),
                             select_prefixes=('generator.', )) == {
                                 'conv': w
                             }


def test_unwrap_tensors_only_and_errors():
    w = torch.ones(1)
    state = {'a': w, 'step': 3, 'module.b': w}
    assert unwrap_state_dict(state) == {'a': w, 'step': 3, 'b': w}
    assert unwrap_state_dict(state, tensors_only=True) == {'a': w, 'b': w}
    with pytest.raises(TypeError, match='list'):
        unwrap_state_dict([w])
