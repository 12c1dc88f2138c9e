"""setup.py stays pure Python and ships configs/tools under sler_ir_mm/.mim."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest

SKIP_DIRS = {'.git', 'build', 'dist', 'work_dirs', 'data', '.pytest_cache',
             '.mim', '__pycache__'}


def copy_source(repo_root, dst):
    def ignore(folder, names):
        return [n for n in names if n in SKIP_DIRS or n.endswith('.egg-info')]

    shutil.copytree(repo_root, dst, ignore=ignore)
    return dst


def test_setup_py_does_not_import_torch(repo_root):
    # A None entry in sys.modules makes `import torch` raise ImportError.
    code = ('import sys, runpy; sys.modules["torch"] = None; '
            'sys.argv = ["setup.py", "--version"]; '
            'runpy.run_path("setup.py", run_name="__main__")')
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=repo_root,
                         capture_output=True,
                         text=True,
                         check=True).stdout
    from sler_ir_mm import __version__
    assert out.strip().splitlines()[-1] == __version__


def test_wheel_carries_mim_files(repo_root, tmp_path):
    src = copy_source(repo_root, str(tmp_path / 'src'))
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w',
        str(tmp_path / 'dist'), src
    ],
                   check=True,
                   capture_output=True)
    wheel, = os.listdir(tmp_path / 'dist')
    assert wheel.startswith('sler_ir_mm-')
    names = set(zipfile.ZipFile(tmp_path / 'dist' / wheel).namelist())
    for required in ('sler_ir_mm/__init__.py', 'sler_ir_mm/compat.py',
                     'sler_ir_mm/.mim/tools/train.py',
                     'sler_ir_mm/.mim/tools/test.py',
                     'sler_ir_mm/.mim/tools/dist_train.sh',
                     'sler_ir_mm/.mim/configs/_base_/default_runtime.py',
                     'sler_ir_mm/.mim/configs/smoke/restormer_smoke.py',
                     'sler_ir_mm/.mim/configs/sler_ir_mini_5task.py',
                     'sler_ir_mm/.mim/configs/sler_ir_5task.py',
                     'sler_ir_mm/.mim/tools/restore_images.py',
                     'sler_ir_mm/.mim/tools/misc/check_dataset.py',
                     'sler_ir_mm/.mim/model-index.yml',
                     'sler_ir_mm/.mim/metafile.yml'):
        assert required in names, required
    assert not any(n.startswith(('tests/', 'configs/', 'tools/'))
                   for n in names)


def test_installed_package_exposes_mim_files():
    """The installed (editable or not) package has .mim/configs and tools."""
    pytest.importorskip('mim')
    from mim.utils import get_installed_path
    root = get_installed_path('sler_ir_mm')
    assert osp.isfile(osp.join(root, '.mim', 'tools', 'train.py'))
    assert osp.isfile(
        osp.join(root, '.mim', 'configs', 'smoke', 'restormer_smoke.py'))
