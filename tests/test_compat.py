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
