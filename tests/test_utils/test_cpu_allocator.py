"""The tools keep freed memory in the process (glibc), unless turned off."""
import os
import subprocess
import sys

import pytest

from sler_ir_mm.utils import cli

CHECK = ('from sler_ir_mm.utils.cpu_allocator import keep_freed_memory; '
         'print(keep_freed_memory(), keep_freed_memory())')


def run_check(**env):
    out = subprocess.run([sys.executable, '-c', CHECK],
                         env=dict(os.environ, **env), capture_output=True,
                         text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='glibc only')
def test_applies_once_on_linux_and_can_be_turned_off():
    import platform
    if platform.libc_ver()[0] != 'glibc':
        pytest.skip('not glibc')
    assert run_check(SLER_IR_CPU_ALLOCATOR='1') == ['True', 'True']
    assert run_check(SLER_IR_CPU_ALLOCATOR='0') == ['False', 'False']


def test_run_main_sets_it_before_the_tool_runs(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, 'keep_freed_memory',
                        lambda: calls.append('allocator'))
    assert cli.run_main(lambda: calls.append('main') or 7) == 7
    assert calls == ['allocator', 'main']
