"""Reading checkpoint files and the weights inside them.

Knows no model: it loads a file on the CPU and finds the ``{key: value}``
weights inside the usual wrappers (MMEngine's ``{'state_dict': ...}``,
BasicSR's ``{'params': ...}``, DDP's ``module.`` prefix). Which wrappers and
prefixes apply is the caller's choice.

Safe loading: ``weights_only=True`` by default. An MMEngine checkpoint also
holds its message hub (``HistoryBuffer``, numpy arrays and scalars); these
load safely because :mod:`sler_ir_mm.compat`, which ``import sler_ir_mm``
runs first, allow-lists them with ``torch.serialization.add_safe_globals``,
and because the loads of checkpoint files (this module's, and MMEngine's
through ``compat``) allow ``getattr`` too, for their duration only
(:func:`mmengine_checkpoint_globals`).
"""
import contextlib
import os
import os.path as osp
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Union

import torch
from torch import Tensor

from .errors import SLERIRError

__all__ = [
    'CheckpointReadError', 'load_checkpoint_file',
    'mmengine_checkpoint_globals', 'read_error_message', 'unwrap_state_dict'
]

PathLike = Union[str, os.PathLike]


class CheckpointReadError(SLERIRError, ValueError):
    """A checkpoint file exists but cannot be loaded (truncated, damaged,
    not a PyTorch checkpoint, or refused by safe loading).

    Args:
        message (str): What went wrong, naming the file.
        path (str, optional): The file.
        reason (Exception, optional): What ``torch.load`` raised.
    """

    def __init__(self,
                 message: str,
                 path: Optional[PathLike] = None,
                 reason: Optional[BaseException] = None) -> None:
        # The message alone must do: MMEngine's registry re-raises an error
        # of a build as ``type(err)(message)``.
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)
        self.reason = reason


def read_error_message(path: PathLike,
                       err: BaseException,
                       what: str = 'checkpoint') -> str:
    """The message of an unreadable checkpoint file, naming it and the
    loader's error."""
    return (f'cannot read {what} {os.fspath(path)} (truncated, or not a '
            f'PyTorch checkpoint?): {type(err).__name__}: {err}')


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Allow ``getattr`` in the safe (``weights_only``) loads inside.

    MMEngine's ``HistoryBuffer`` (in the message hub of every MMEngine
    checkpoint) keeps its statistics methods in its state, which pickle
    stores as ``getattr(HistoryBuffer, 'min')``: without ``getattr`` such a
    checkpoint does not load safely. Only for the loads of checkpoint files,
    not process-wide, so that no other safe load of the process accepts it.
    """
    with torch.serialization.safe_globals([getattr]):
        yield


def load_checkpoint_file(path: PathLike,
                         what: str = 'checkpoint',
                         weights_only: Optional[bool] = True,
                         mmap: bool = False) -> Any:
    """``torch.load`` a local file onto the CPU, naming it in errors.

    Args:
        path (str | PathLike): Local file.
        what (str): What the file is, for the messages, e.g.
            ``'Restormer checkpoint'``. Default: 'checkpoint'.
        weights_only (bool, optional): Passed to ``torch.load``; None leaves
            torch's default, as MMEngine's own loading does. Default: True.
        mmap (bool): Memory-map the file, so that tensors are read only when
            used (e.g. to read shapes only). Files of the legacy (pre-zip)
            format cannot be mapped and are read normally. Default: False.

    Returns:
        The loaded object.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        CheckpointReadError: ``torch.load`` failed.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {os.fspath(path)}')
    kwargs: Dict[str, Any] = dict(map_location='cpu')
    if weights_only is not None:
        kwargs['weights_only'] = weights_only
    try:
        with mmengine_checkpoint_globals():
            if mmap:
                try:
                    return torch.load(path, mmap=True, **kwargs)
                except RuntimeError:
                    pass  # legacy format: read it whole below
            return torch.load(path, **kwargs)
    except Exception as err:  # noqa: BLE001
        raise CheckpointReadError(
            read_error_message(path, err, what), path=path,
            reason=err) from err


def unwrap_state_dict(obj: Mapping,
                      keys: Sequence[str] = ('state_dict', ),
                      strip_prefixes: Sequence[str] = ('module.', ),
                      select_prefixes: Sequence[str] = (),
                      nested: bool = False,
                      tensors_only: bool = False) -> Dict[str, Any]:
    """The flat ``{key: value}`` weights inside a loaded checkpoint.

    Args:
        obj (Mapping): A state dict, or a checkpoint wrapping one.
        keys (Sequence[str]): Entries that may hold the weights, tried in
            order: the first whose value is a mapping is used. Default:
            ``('state_dict', )`` (MMEngine).
        strip_prefixes (Sequence[str]): Prefixes removed from the keys that
            start with them (each key loses at most one, the first that
            matches); other keys are kept as they are. Default:
            ``('module.', )`` (DDP, as MMEngine removes it when loading).
        select_prefixes (Sequence[str]): Prefixes of a sub-module to select,
            applied in order: if any key starts with one, only those keys are
            kept, without it (e.g. ``'generator.'`` keeps an MMagic editor's
            backbone only). Default: none.
        nested (bool): Look into ``keys`` again in what was found, as long as
            one holds a mapping (wrappers of wrappers). Default: False.
        tensors_only (bool): Drop values that are not tensors. Default:
            False.

    Returns:
        dict: String keys -> values. A new dict; the values are not copied.

    Raises:
        TypeError: ``obj`` is not a mapping.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f'a checkpoint must be a mapping to hold weights, got '
                        f'{type(obj).__name__}')
    found = True
    while found:
        found = False
        for key in keys:
            if isinstance(obj.get(key), Mapping):
                obj, found = obj[key], nested
                break
    for prefix in select_prefixes:
        if any(str(k).startswith(prefix) for k in obj):
            obj = {
                str(k)[len(prefix):]: v
                for k, v in obj.items() if str(k).startswith(prefix)
            }
    state: Dict[str, Any] = {}
    for key, value in obj.items():
        if tensors_only and not isinstance(value, Tensor):
            continue
        key = str(key)
        for prefix in strip_prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        state[key] = value
    return state
