"""Pick a distributed backend that works on the machine at hand."""
import torch


def use_gloo_without_cuda(cfg) -> bool:
    """Switch ``env_cfg.dist_cfg.backend`` from NCCL to gloo without CUDA.

    The configs ask for NCCL (GPUs); NCCL cannot run CPU processes, so a
    multi-process run on a CPU machine (``tools/dist_train.sh CONFIG 2``)
    would fail at start. Only a launched run (``cfg.launcher != 'none'``)
    with the NCCL backend is changed.

    Args:
        cfg (mmengine.Config): The config, changed in place.

    Returns:
        bool: True if the backend was switched.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') != 'nccl':
        return False
    dist_cfg['backend'] = 'gloo'
    return True
