"""Point every dataset of a config at another data root.

A config's dataset dicts hold the ``data_root`` they were written with:
``data_root = 'data'`` at the top of a config is used when the file is
parsed, so ``--cfg-options data_root=/x`` changes only that top-level key
and no dataset. :func:`set_data_root` rewrites the datasets themselves.
"""
from typing import List

from ..utils.errors import SLERIRError
from .config_walk import walk_config

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class DataRootError(SLERIRError, ValueError):
    """A data root cannot be set: the config has none, or no dataset uses
    it."""


def set_data_root(cfg, data_root: str) -> List[str]:
    """Replace the config's ``data_root`` in all its dataloaders.

    Every dataset (wrappers included) whose ``data_root`` equals the
    config's top-level ``data_root`` gets ``data_root`` instead; datasets
    with another root (e.g. a separate test root) are left alone.

    Args:
        cfg (mmengine.Config): The config, changed in place.
        data_root (str): The new root.

    Returns:
        list[str]: Where the root was replaced (config paths).

    Raises:
        DataRootError: (a ``ValueError``) ``data_root`` is empty, the
            config has no top-level ``data_root``, or no dataset uses it.
    """
    if not isinstance(data_root, str) or not data_root:
        raise DataRootError(f'data_root must be a non-empty str, got '
                            f'{data_root!r}')
    old = cfg.get('data_root', None)
    if not isinstance(old, str):
        raise DataRootError('the config has no top-level data_root to '
                            'replace; set the datasets\' data_root with '
                            '--cfg-options')
    changed: List[str] = []
    for key in DATALOADER_KEYS:
        if key not in cfg:
            continue
        for where, node, _ in walk_config(cfg[key], key):
            if isinstance(node.get('data_root'), str) and \
                    node['data_root'] == old:
                node['data_root'] = data_root
                changed.append(where)
    if not changed:
        raise DataRootError(f'no dataset of the config uses its data_root '
                            f'{old!r}')
    cfg.data_root = data_root
    return changed
