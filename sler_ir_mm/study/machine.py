"""The machine a study ran on, for its summary."""
import os
import platform
from typing import Dict

__all__ = ['machine_info', 'describe_machine']


def machine_info() -> Dict[str, object]:
    """CPU, cores, torch threads, GPU and the versions of the stack."""
    import mmagic
    import mmengine
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return dict(
        cpu=cpu,
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        gpu=(torch.cuda.get_device_name(0)
             if torch.cuda.is_available() else 'none'),
        python=platform.python_version(),
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        mmagic=mmagic.__version__)


def describe_machine(info: Dict[str, object]) -> str:
    """One line of :func:`machine_info`."""
    return (f'{info.get("cpu")}, {info.get("cpu_count")} cores '
            f'({info.get("torch_threads")} torch threads), GPU '
            f'{info.get("gpu")}; Python {info.get("python")}, torch '
            f'{info.get("torch")}, MMEngine {info.get("mmengine")}, MMagic '
            f'{info.get("mmagic")}')
