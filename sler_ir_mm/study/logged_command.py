"""Run one command of a study: its output into the row's log, MMEngine's
progress lines echoed in short."""
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Callable, Optional, Sequence, Tuple

from .commands import format_command

__all__ = ['progress_line', 'run_logged']


def progress_line(line: str) -> str:
    """The short form of an MMEngine progress line: the epoch and
    iteration, the ETA and the total loss; an error line whole; '' for
    other lines (shown on the console only, never read as a result).

    Args:
        line (str): One line of a tool's output.
    """
    if 'Error' in line or 'Traceback' in line:
        return line.rstrip()
    words = line.split()
    starts = [i for i, w in enumerate(words) if w.startswith('Epoch(')]
    if not starts:
        return ''
    i = starts[0]
    head = [words[i]]
    # 'Epoch(train)', then '[2][3/4]' (or '[2][', '3/4]' when padded).
    while i + 1 < len(words) and (words[i + 1].startswith('[')
                                  or not head[-1].endswith(']')):
        i += 1
        head.append(words[i])
    fields = [
        f'{words[j]} {words[j + 1]}' for j in range(len(words) - 1)
        if words[j] in ('eta:', 'loss:')
    ]
    return '  '.join([' '.join([head[0], ''.join(head[1:])]).strip()] + fields)


def run_logged(cmd: Sequence[str],
               log_path: str,
               prefix: str,
               tools_root: str,
               popen: Optional[Callable] = None) -> Tuple[int, float]:
    """Run ``cmd`` (``python tools/...``, relative to ``tools_root``) with
    this interpreter from the current folder, append its output to
    ``log_path`` and echo its progress lines.

    Args:
        cmd (Sequence[str]): The command as printed.
        log_path (str): The row's log file.
        prefix (str): What echoed lines start with (the row's name).
        tools_root (str): The folder that holds ``tools/``.
        popen (Callable, optional): Stand-in for ``subprocess.Popen``
            (tests run the commands on forked interpreters).

    Returns:
        tuple: ``(exit code, seconds)``.
    """
    argv = list(cmd)
    if argv and argv[0] == 'python':
        argv[:2] = [sys.executable, osp.join(tools_root, argv[1])]
    popen = popen or subprocess.Popen
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    start = time.perf_counter()
    with open(log_path, 'a', encoding='utf-8') as log:
        log.write(f'\n$ {format_command(cmd)}\n')
        log.flush()
        proc = popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env)
        try:
            for line in proc.stdout:
                log.write(line)
                brief = progress_line(line)
                if brief:
                    print(f'  {prefix} | {brief}', flush=True)
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return code, time.perf_counter() - start
