"""Run the project's tools in subprocesses and read what they logged."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys


def run_tool(repo_root, cwd, *args, timeout=600, expect_code=0):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [repo_root, osp.join(repo_root, 'tests', 'helpers'),
         env.get('PYTHONPATH', '')])
    proc = subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    assert proc.returncode == expect_code, (
        f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc.stdout + proc.stderr


def read_scalars(work_dir):
    """iteration -> logged scalars, the latest run winning."""
    by_iter = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                by_iter.setdefault(rec['step'], {}).update(rec)
    return by_iter


def load_tool(repo_root, path):
    """Import a tool script (``tools/...py``) as a module."""
    import importlib.util
    name = 'tool_' + osp.splitext(path)[0].replace(os.sep, '_')
    spec = importlib.util.spec_from_file_location(
        name, osp.join(repo_root, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
