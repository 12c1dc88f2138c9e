import os.path as osp
import sys

import pytest

# Apply the plugin's runtime fixes before any test module imports mmagic.
import sler_ir_mm  # noqa: F401,E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO_ROOT, 'tests', 'helpers'))


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO_ROOT


@pytest.fixture(scope='session', autouse=True)
def mmagic_default_scope():
    """Build registered names as configs with default_scope='mmagic' do."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmagic')
