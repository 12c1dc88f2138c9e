"""Run MMEngine's multi-process training on CPU processes."""
import os

import torch
import torch.distributed as torch_dist


def prepare_cpu_distributed(cfg, init_process_group: bool = True) -> bool:
    """Make a launched run work without CUDA (e.g. 2 CPU processes).

    Our configs ask for NCCL and MMEngine's PyTorch launcher assumes GPUs:
    it calls ``torch.cuda.set_device`` before creating the process group,
    and gives DistributedDataParallel ``device_ids=[LOCAL_RANK]``, which DDP
    refuses for a CPU model. For a run started by ``torchrun``
    (``cfg.launcher == 'pytorch'``) on a machine without CUDA this

    - sets ``env_cfg.dist_cfg.backend='gloo'``;
    - creates the gloo process group itself (MMEngine then skips its own
      initialisation, as the group exists), unless ``init_process_group``
      is False or the process was not started by torchrun;
    - sets ``model_wrapper_cfg.device_ids=None`` (keeping the config's
      wrapper type and ``find_unused_parameters``; a config without a
      wrapper gets MMEngine's default ``MMDistributedDataParallel``).

    Args:
        cfg (mmengine.Config): The config, changed in place.
        init_process_group (bool): Create the process group. Default: True.

    Returns:
        bool: True if the run was prepared for CPU processes.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    # Outside torchrun (no RANK/WORLD_SIZE) there is nothing to join: MMEngine
    # reports that itself when it sets up the run.
    launched = 'RANK' in os.environ and 'WORLD_SIZE' in os.environ
    if init_process_group and launched and not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend=dist_cfg['backend'],
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    return True


def close_distributed() -> None:
    """Destroy the default process group, if one exists.

    Called by the tools when a run ends normally: a gloo group left to the
    interpreter's exit tears its threads down in an undefined order, which
    now and then aborted a finished 2-process CPU run ("terminate called
    without an active exception", 2 of 22 runs of
    ``tests/test_tools/test_dist_train_cpu.py``).
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
