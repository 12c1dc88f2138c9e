"""Walk the nested dicts of a config.

The config helpers that rewrite or read datasets and transforms wherever
they sit (:func:`~sler_ir_mm.datasets.data_root.set_data_root`,
:func:`~sler_ir_mm.datasets.bad_samples.set_on_error`,
:func:`~sler_ir_mm.datasets.dataset_cfgs.iter_dataset_cfgs`) all walk a
config the same way, through this generator.
"""
from typing import (Any, Callable, Iterable, Iterator, Mapping, NamedTuple,
                    Optional, Tuple)

__all__ = ['ConfigNode', 'walk_config']


class ConfigNode(NamedTuple):
    """A dict met by :func:`walk_config`.

    Attributes:
        path (str): Where it sits, e.g. ``'val_dataloader[1].dataset'``.
        node (dict): The dict itself (a ``ConfigDict`` in a ``Config``;
            any mapping is walked); changing it changes the config.
        parents (tuple[ConfigNode]): The dicts it sits in, outermost first.
    """
    path: str
    node: dict
    parents: Tuple['ConfigNode', ...] = ()


# Which keys of a dict to enter: all of them unless told otherwise.
KeysFn = Callable[[dict], Iterable[str]]


def walk_config(cfg: Any,
                path: str = 'cfg',
                keys: Optional[KeysFn] = None) -> Iterator[ConfigNode]:
    """Yield every dict in ``cfg``, depth first, a dict before what it
    holds, in config order.

    Lists and tuples are entered (their dicts are ``path[i]``); other values
    are not yielded. A dict is yielded before its values are read, so the
    caller may change it (e.g. set a key) and the walk goes on through the
    changed dict.

    Args:
        cfg (Any): A config, dict, list or tuple (or anything else, which
            yields nothing).
        path (str): The name of ``cfg`` in the paths. Default: ``'cfg'``.
        keys (Callable, optional): ``keys(node)`` gives the keys of a dict
            to enter; default: all of them.

    Yields:
        ConfigNode: Each dict, with its path and the dicts it sits in.
    """
    yield from _walk(cfg, path, keys, ())


def _walk(value: Any, path: str, keys: Optional[KeysFn],
          parents: Tuple[ConfigNode, ...]) -> Iterator[ConfigNode]:
    if isinstance(value, Mapping):
        here = ConfigNode(path, value, parents)
        yield here
        inside = parents + (here, )
        names = list(value.keys()) if keys is None else list(keys(value))
        for key in names:
            if key in value:
                yield from _walk(value[key], f'{path}.{key}', keys, inside)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f'{path}[{i}]', keys, parents)
