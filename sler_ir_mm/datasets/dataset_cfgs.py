"""The leaf dataset configs of a config's dataloaders.

Tools that look at a config's data one dataset at a time
(``tools/misc/check_dataset.py``, ``tools/analysis_tools/route_stats.py``)
walk the dataloaders with :func:`iter_dataset_cfgs`. A wrapper *class*
(``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``, a
project's own) is opened and its inner datasets are the leaves; a dataset
*factory* registered as a function (``MiniBenchmarkDataset``: it builds the
mini benchmark's files, then returns its ``dataset``) is itself a leaf, as
only building it through the factory makes its data exist.
"""
import inspect
import logging
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence, Tuple, Union

from mmagic.registry import DATASETS
from mmengine.config import Config
from mmengine.logging import MMLogger

from ..utils.errors import SLERIRError
from .config_walk import walk_config

__all__ = [
    'DatasetConfigError', 'DatasetEntry', 'SPLITS', 'dataset_location',
    'described_dataset_cfg',
    'dataset_name', 'is_dataset_factory', 'iter_dataset_cfgs',
    'quiet_metainfo_notices'
]

SPLITS = ('train', 'val', 'test')


class DatasetConfigError(SLERIRError, ValueError):
    """A config's dataloaders hold no dataset config where one is
    needed, or unknown splits are asked for."""


@dataclass
class DatasetEntry:
    """One leaf dataset config of a config's dataloaders.

    Attributes:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        where (str): Where it sits in the config, e.g.
            ``'val_dataloader[1].dataset.datasets[0]'``.
        cfg (dict): The dataset config.
    """
    split: str
    where: str
    cfg: dict

    @property
    def name(self) -> str:
        return dataset_name(self.cfg)

    @property
    def location(self) -> str:
        return dataset_location(self.cfg)


def _to_plain(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)


def is_dataset_factory(dataset_cfg: Mapping) -> bool:
    """Whether a config's ``type`` is a registered function (a factory
    that returns the dataset it builds), not a class.

    Args:
        dataset_cfg (dict): A dataset config.
    """
    kind = dataset_cfg.get('type', None)
    if isinstance(kind, str):
        kind = DATASETS.get(kind)
    return inspect.isfunction(kind)


def _wrapped_key(dataset_cfg: Mapping) -> Tuple[str, ...]:
    """The key of a wrapper's inner dataset(s); ``()`` for a leaf.

    A config with ``datasets`` (a list) or ``dataset`` (a dict) is a
    wrapper unless its type is a factory function (see the module doc).
    """
    if is_dataset_factory(dataset_cfg):
        return ()
    if isinstance(dataset_cfg.get('datasets', None), (list, tuple)):
        return ('datasets', )
    if isinstance(dataset_cfg.get('dataset', None), Mapping):
        return ('dataset', )
    return ()


def _walk(dataset_cfg, split: str, where: str) -> Iterator[DatasetEntry]:
    if not isinstance(dataset_cfg, Mapping):
        raise TypeError(f'{where} must be a dataset config dict, got '
                        f'{type(dataset_cfg).__name__}')
    for path, node, _ in walk_config(dataset_cfg, where, keys=_wrapped_key):
        key = _wrapped_key(node)
        if key == ('datasets', ):
            for i, sub in enumerate(node['datasets']):
                if not isinstance(sub, Mapping):
                    raise TypeError(f'{path}.datasets[{i}] must be a dataset '
                                    f'config dict, got {type(sub).__name__}')
        elif not key:
            yield DatasetEntry(split, path, _to_plain(node))


def iter_dataset_cfgs(
        cfg: Union[Config, Mapping],
        splits: Sequence[str] = SPLITS) -> Iterator[DatasetEntry]:
    """Yield the leaf dataset configs of a config's dataloaders.

    Args:
        cfg (Config | dict): The config; ``<split>_dataloader`` may be a
            dict or a list of dicts (``MultiValLoop`` / ``MultiTestLoop``).
        splits (Sequence[str]): Splits to walk, of ``SPLITS``.

    Yields:
        DatasetEntry: Each leaf dataset, in config order.
    """
    for split in splits:
        if split not in SPLITS:
            raise DatasetConfigError(
                f'splits must be among {SPLITS}, got {split!r}')
        key = f'{split}_dataloader'
        loaders = cfg.get(key, None)
        if loaders is None:
            continue
        single = isinstance(loaders, Mapping)
        for i, loader in enumerate([loaders] if single else loaders):
            where = key if single else f'{key}[{i}]'
            if not isinstance(loader, Mapping) or 'dataset' not in loader:
                raise DatasetConfigError(f'{where} has no dataset config')
            yield from _walk(loader['dataset'], split, f'{where}.dataset')


def described_dataset_cfg(cfg: Mapping) -> Mapping:
    """The config that describes the data: a factory's ``dataset`` (it
    holds the task and the folders), else ``cfg`` itself."""
    inner = cfg.get('dataset', None)
    if isinstance(inner, Mapping) and is_dataset_factory(cfg):
        return described_dataset_cfg(inner)
    return cfg


def dataset_name(cfg: Mapping) -> str:
    """A readable name of a dataset config: its task name (and noise
    level), else its metainfo's, else its type."""
    cfg = described_dataset_cfg(cfg)
    metainfo = cfg.get('metainfo', None) or {}
    name = cfg.get('task_name', None) or metainfo.get('task_name', None) \
        or metainfo.get('dataset_type', None) or str(cfg.get('type', '?'))
    if cfg.get('noise_sigma', None) is not None:
        name = f'{name} (sigma {cfg["noise_sigma"]:g})'
    return str(name)


def dataset_location(cfg: Mapping) -> str:
    """``data_root: key=prefix, ...`` (and the annotation file) of a
    dataset config."""
    cfg = described_dataset_cfg(cfg)
    parts = []
    prefix = cfg.get('data_prefix', None)
    if isinstance(prefix, Mapping):
        parts += [f'{k}={v}' for k, v in prefix.items()]
    for extra in cfg.get('extra_gt_prefixes', None) or ():
        parts.append(f'gt+={extra}')
    if cfg.get('ann_file', None):
        parts.append(f'ann_file={cfg["ann_file"]}')
    root = cfg.get('data_root', None) or '.'
    return f'{root}: {", ".join(parts)}' if parts else str(root)


class _DropMetainfoNotice(logging.Filter):
    """Drops MMEngine's notice for each string in a dataset's metainfo
    ("... is not a meta file, simply parsed as meta information"), logged
    for every dataset built, which says nothing about the data."""

    def filter(self, record: logging.LogRecord) -> bool:
        return 'is not a meta file' not in record.getMessage()


def quiet_metainfo_notices() -> None:
    """Keep those notices out of the current MMEngine logger (tools that
    build many datasets)."""
    logger = MMLogger.get_current_instance()
    if not any(isinstance(f, _DropMetainfoNotice) for f in logger.filters):
        logger.addFilter(_DropMetainfoNotice())
