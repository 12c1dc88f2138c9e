import os.path as osp
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO_ROOT, 'tests', 'data'))


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO_ROOT
