"""The config of a training or test run, as the tools build it.

``tools/train.py`` and ``tools/test.py`` load a config the same way (the
file, ``--cfg-options``, the launcher) and finish it the same way
(``--data-root``, CPU multi-process set-up, the work dir); what lies between
(stage epochs, AMP, resume; the checkpoint, degraded inputs) is each tool's
own.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from sler_ir_mm.datasets.data_root import set_data_root
from .dist_backend import prepare_cpu_distributed

__all__ = ['finish_run_config', 'load_run_config']


def load_run_config(config: str,
                    cfg_options: Optional[dict] = None,
                    launcher: str = 'none') -> Config:
    """Read ``config`` and apply ``--cfg-options``.

    Args:
        config (str): The config file.
        cfg_options (dict, optional): Overrides (MMEngine's ``DictAction``).
        launcher (str): The job launcher, stored as ``cfg.launcher``.

    Raises:
        SystemExit: The file does not exist.
    """
    if not osp.isfile(config):
        raise SystemExit(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    return cfg


def finish_run_config(cfg: Config,
                      config: str,
                      data_root: Optional[str] = None,
                      work_dir: Optional[str] = None) -> None:
    """Point the datasets at ``data_root``, set up CPU processes, and choose
    the work dir: ``work_dir`` > the config's > ``work_dirs/<config name>``.

    Raises:
        SystemExit: ``data_root`` cannot be used.
    """
    if data_root is not None:
        try:
            set_data_root(cfg, data_root)
        except ValueError as err:
            raise SystemExit(f'--data-root: {err}')
    if prepare_cpu_distributed(cfg):
        print('No CUDA: the processes run on CPU with the gloo backend.')
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
