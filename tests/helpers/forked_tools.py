"""Run tool scripts in processes forked from an interpreter that has
imported their libraries already.

A fresh ``python tools/train.py`` spends about 10 s of CPU importing
torch, MMEngine, MMagic (which pulls in diffusers) and the plugin before
the tool does anything; a test that starts several tool processes (runs
killed and resumed, a study of several rows) pays that once per
:class:`ToolServer` instead: the server imports them once, then forks one
child per command.

The child is a new process, started as the tool would be: its own pid (a
SIGKILL kills it alone, and the exit status says so), the command's
working folder, environment, ``sys.argv`` and ``sys.path[0]``, fresh
seeds of Python's and NumPy's global RNGs, stdin from /dev/null, stdout
and stderr into one file; it runs the script as ``__main__`` (``runpy``),
then exits as Python does (exit functions, logging flushed). What a fresh
interpreter would not share with the server: the modules already imported
and the hash seed (``PYTHONHASHSEED`` of the environment the server
started in; random if unset). Variables read when an interpreter starts
(``PYTHONHASHSEED``, ``PYTHONPATH``, ``OMP_NUM_THREADS``) take effect from
the server's environment, not the command's.

The server itself runs no torch computation: a process that has run an
OpenMP parallel region can hang in its forked children (libgomp), one that
has only imported torch cannot. It freezes what the imports made
(``gc.freeze``), so that the children's garbage collections skip it.
"""
import json
import os
import os.path as osp
import select
import signal
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

# What the project's tools import (tools/train.py, test.py,
# analysis_tools/route_stats.py), and what building their runners and
# models imports later (MMagic's registries, open_clip for the CLIP towers,
# yapf for the config dump).
DEFAULT_PRELOAD = ('sler_ir_mm', 'mmengine.runner', 'mmengine.config',
                   'mmagic.models', 'mmagic.datasets', 'mmagic.engine',
                   'mmagic.evaluation', 'mmagic.visualization', 'mmagic.utils',
                   'open_clip', 'yapf', 'tqdm')


class ToolServer:
    """One pre-imported interpreter that runs commands in forked children,
    one at a time.

    Args:
        env (dict, optional): The server's environment (default: this
            process's); also the commands' unless :meth:`run` gets one.
        preload (Sequence[str]): Modules to import before forking.
    """

    def __init__(self,
                 env: Optional[Dict[str, str]] = None,
                 preload: Sequence[str] = DEFAULT_PRELOAD) -> None:
        self.env = dict(os.environ if env is None else env)
        self._tmp = tempfile.TemporaryDirectory(prefix='tool_server_')
        self._log = osp.join(self._tmp.name, 'server.log')
        self._count = 0
        with open(self._log, 'w') as log:
            self.proc = subprocess.Popen(
                [sys.executable, osp.abspath(__file__), *preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self.env,
                text=True)
        line = self.proc.stdout.readline()
        if line.strip() != 'ready':
            self.close()
            with open(self._log) as f:
                raise RuntimeError(f'tool server did not start:\n{line}'
                                   f'{f.read()[-5000:]}')

    def run(self,
            argv: Sequence[str],
            cwd: str,
            env: Optional[Dict[str, str]] = None,
            timeout: float = 600) -> Tuple[int, str]:
        """Run ``python ARGV...`` (``[script, *args]`` or
        ``['-c', code, *args]``) in a forked child.

        Returns:
            tuple: ``(exit code, stdout + stderr)``; like ``subprocess``,
            a child killed by signal N has exit code -N.
        """
        self._count += 1
        out = osp.join(self._tmp.name, f'out_{self._count}.txt')
        request = dict(argv=list(argv), cwd=osp.abspath(cwd),
                       env=dict(self.env if env is None else env), out=out)
        self.proc.stdin.write(json.dumps(request) + '\n')
        self.proc.stdin.flush()
        pid = self._reply(timeout=60)['pid']
        try:
            code = self._reply(timeout=timeout)['code']
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            self._reply(timeout=60)
            raise
        with open(out, encoding='utf-8', errors='replace') as f:
            return code, f.read()

    def _reply(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f'no reply from the tool server in {timeout}s')
        line = self.proc.stdout.readline()
        if not line:
            with open(self._log) as f:
                raise RuntimeError('the tool server died:\n' +
                                   f.read()[-5000:])
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._tmp.cleanup()

    def __enter__(self) -> 'ToolServer':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ForkedPopen:
    """A stand-in for ``subprocess.Popen(argv, stdout=PIPE,
    stderr=STDOUT, text=True, env=...)`` that runs ``argv``
    (``[sys.executable, script, *args]``) on a :class:`ToolServer` in the
    current folder; ``stdout`` gives the output once the child has ended.

    Make one with ``ForkedPopen.on(server)``.
    """

    server: ToolServer = None

    @classmethod
    def on(cls, server: ToolServer) -> type:
        return type('ForkedPopen', (cls, ), dict(server=server))

    def __init__(self, argv: List[str], env=None, **kwargs) -> None:
        if argv[0] != sys.executable:
            raise ValueError(f'ForkedPopen runs `{sys.executable} ...` '
                             f'commands, got {argv[:2]}')
        self.returncode, out = self.server.run(
            argv[1:], os.getcwd(), env=env)
        self.stdout = iter(out.splitlines(keepends=True))

    def wait(self, timeout=None) -> int:
        return self.returncode

    def poll(self) -> int:
        return self.returncode

    def kill(self) -> None:
        pass


# ----------------------------------------------------------------- server
def _child(request: dict, close_first: Sequence) -> int:
    """Run one command; return its exit code (in the forked child)."""
    import atexit
    import logging
    import random
    import runpy
    import traceback
    code = 1
    try:
        for f in close_first:
            f.close()
        out = os.open(request['out'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                      0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, 'w', buffering=1, closefd=False)
        sys.stderr = open(2, 'w', buffering=1, closefd=False)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        # Fresh global RNGs, as a new interpreter has (torch's default
        # generator starts from a fixed seed anyway).
        random.seed()
        if 'numpy' in sys.modules:
            sys.modules['numpy'].random.seed()
        argv = request['argv']
        if argv[0] == '-c':
            sys.argv = ['-c', *argv[2:]]
            sys.path[0] = ''
            exec(compile(argv[1], '<string>', 'exec'),
                 {'__name__': '__main__', '__builtins__': __builtins__})
        else:
            script = osp.abspath(argv[0])
            sys.argv = [argv[0], *argv[1:]]
            sys.path[0] = osp.dirname(script)
            runpy.run_path(script, run_name='__main__')
        code = 0
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: B902 - report it as Python would
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: B902
        pass
    return code


def _serve(preload: Sequence[str]) -> None:
    import gc
    import importlib
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for name in preload:
            importlib.import_module(name)
    # What the imports made lives as long as the process: keep the cyclic
    # garbage collector of the children off it (MMEngine's datasets call
    # gc.collect(), which otherwise walks all of it every time: 0.3 s).
    gc.collect()
    gc.freeze()
    # The protocol on its own descriptors, so that a child can take over
    # 0, 1 and 2.
    requests = os.fdopen(os.dup(0), 'r')
    replies = os.fdopen(os.dup(1), 'w')
    replies.write('ready\n')
    replies.flush()
    for line in requests:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(_child(request, (requests, replies)))
        replies.write(json.dumps(dict(pid=pid)) + '\n')
        replies.flush()
        _, status = os.waitpid(pid, 0)
        replies.write(
            json.dumps(dict(code=os.waitstatus_to_exitcode(status))) + '\n')
        replies.flush()


if __name__ == '__main__':
    _serve(sys.argv[1:])
