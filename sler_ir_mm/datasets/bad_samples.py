"""What a training sample with a bad image does: stop, or skip and report.

``LoadImageFromFileChecked`` and ``CheckPairedSize`` take
``on_error='raise'`` (the default: an error naming the file) or
``on_error='skip'``: the transform logs the problem once per file and
returns None, and MMEngine's ``BaseDataset`` then loads another random
sample of the same dataset (up to its ``max_refetch``, 1000 by default).
Skipping is for training only: a test set must score every image, and
MMEngine raises on a None test sample, so our datasets refuse a
``test_mode=True`` pipeline that skips when they are built.

:func:`set_on_error` switches every such transform of a (nested) dataloader
or dataset config at once, e.g. in a config file::

    _base_ = './sler_ir_5task.py'
    from sler_ir_mm.datasets import set_on_error
    train_dataloader = set_on_error(_base_.train_dataloader, 'skip')
    del set_on_error
"""
import copy
import logging
from typing import Any, Iterable, List, Set

from mmengine.logging import print_log

from ..utils.errors import SLERIRError
from .config_walk import walk_config

ON_ERROR_CHOICES = ('raise', 'skip')
# Transforms (registered names) that take ``on_error``.
SKIPPABLE_TRANSFORMS = ('LoadImageFromFileChecked', 'CheckPairedSize')

# Problems already logged in this process (a dataloader worker logs each
# of its own once; a file seen again every epoch is not logged again).
_reported: Set[str] = set()


class OnErrorSettingError(SLERIRError, ValueError):
    """``on_error`` is unknown, or ``'skip'`` is set where it cannot be
    (a test set), or there is nothing to set."""


def check_on_error(owner: str, on_error: str) -> None:
    """Raise an :class:`OnErrorSettingError` (a ``ValueError``) naming
    ``owner`` unless ``on_error`` is one of ``ON_ERROR_CHOICES``."""
    if on_error not in ON_ERROR_CHOICES:
        raise OnErrorSettingError(f'{owner}: on_error must be one of '
                                  f'{ON_ERROR_CHOICES}, got {on_error!r}')


def report_skipped(problem: str) -> None:
    """Log a skipped sample's problem as a warning, once per process.

    Args:
        problem (str): The error message, naming the file(s).
    """
    if problem in _reported:
        return
    _reported.add(problem)
    print_log(
        f'skipping a training sample (on_error=\'skip\'): {problem}',
        logger='current',
        level=logging.WARNING)


def reported_problems() -> List[str]:
    """The problems :func:`report_skipped` logged in this process, in
    sorted order."""
    return sorted(_reported)


def _transform_name(cfg: dict) -> str:
    kind = cfg.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return name.split('.')[-1]  # 'mmagic.CheckPairedSize' -> its name


def check_no_skip_in_test(transforms: Iterable[Any], test_mode: bool,
                          dataset: str) -> None:
    """Refuse ``on_error='skip'`` in a test set's pipeline.

    Args:
        transforms (Iterable): The built pipeline's transforms.
        test_mode (bool): The dataset's ``test_mode``.
        dataset (str): The dataset's name, for the message.
    """
    if not test_mode:
        return
    skipping = [
        type(t).__name__ for t in transforms
        if getattr(t, 'on_error', None) == 'skip'
    ]
    if skipping:
        raise OnErrorSettingError(
            f'{dataset}: test_mode=True, but {", ".join(skipping)} has '
            "on_error='skip'; skipping is for training only (a test set "
            "scores every image): use on_error='raise' and fix or remove "
            'the file it names')


def set_on_error(cfg: Any, on_error: str, where: str = 'cfg') -> Any:
    """Set ``on_error`` of every ``LoadImageFromFileChecked`` and
    ``CheckPairedSize`` in a copy of a dataloader / dataset config.

    Args:
        cfg (dict | list): A dataloader or dataset config (wrappers and
            lists included), e.g. ``cfg.train_dataloader``.
        on_error (str): ``'raise'`` or ``'skip'`` (see the module doc).
        where (str): The config's name, for the messages.

    Returns:
        The changed copy (the input is left as it was).

    Raises:
        OnErrorSettingError: (a ``ValueError``) ``on_error`` is unknown,
            ``'skip'`` reaches a ``test_mode=True`` dataset, or there is no
            such transform (the switch would do nothing).
    """
    check_on_error('set_on_error', on_error)
    cfg = copy.deepcopy(cfg)
    changed: List[str] = []
    for item in walk_config(cfg, where):
        if _transform_name(item.node) not in SKIPPABLE_TRANSFORMS:
            continue
        if on_error == 'skip':
            # The dataset (or any dict) around it that runs in test mode.
            tests = [
                n.path for n in (*item.parents, item)
                if n.node.get('test_mode', False)
            ]
            if tests:
                raise OnErrorSettingError(
                    f"set_on_error: {tests[-1]} has test_mode=True; "
                    "on_error='skip' is for training datasets only")
        item.node['on_error'] = on_error
        changed.append(item.path)
    if not changed:
        raise OnErrorSettingError(
            f'set_on_error: {where} has no {" or ".join(SKIPPABLE_TRANSFORMS)}'
            ' in its pipelines, so on_error cannot be set')
    return cfg
