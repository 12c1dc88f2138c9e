"""Point every dataset of a config at another data root.

A config's dataset dicts hold the ``data_root`` they were written with:
``data_root = 'data'`` at the top of a config is used when the file is
parsed, so ``--cfg-options data_root=/x`` changes only that top-level key
and no dataset. :func:`set_data_root` rewrites the datasets themselves.
"""
from typing import Any, List

DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _replace(node: Any, old: str, new: str, changed: List[str],
             where: str) -> None:
    if isinstance(node, dict):
        if isinstance(node.get('data_root'), str) and \
                node['data_root'] == old:
            node['data_root'] = new
            changed.append(where)
        for key, value in node.items():
            _replace(value, old, new, changed, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _replace(value, old, new, changed, f'{where}[{i}]')


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
        ValueError: The config has no top-level ``data_root``, or no
            dataset uses it.
    """
    if not isinstance(data_root, str) or not data_root:
        raise ValueError(f'data_root must be a non-empty str, got '
                         f'{data_root!r}')
    old = cfg.get('data_root', None)
    if not isinstance(old, str):
        raise ValueError('the config has no top-level data_root to replace; '
                         'set the datasets\' data_root with --cfg-options')
    changed: List[str] = []
    for key in DATALOADER_KEYS:
        if key in cfg:
            _replace(cfg[key], old, data_root, changed, key)
    if not changed:
        raise ValueError(f'no dataset of the config uses its data_root '
                         f'{old!r}')
    cfg.data_root = data_root
    return changed
