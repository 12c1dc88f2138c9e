"""Sizes one component of a model config takes from the others."""
from typing import Any, NamedTuple, Sequence, Tuple, Union

__all__ = ['Dim', 'fill_dims']


class Dim(NamedTuple):
    """One size a config section takes from another component.

    Attributes:
        key (str): The key in the config section, e.g. 'in_channels'.
        value: The size it must have, e.g. the encoder's ``embed_dim``.
        source (str): Where ``value`` comes from, quoted in the error, e.g.
            "the degradation encoder's embed_dim".
        hint (str): Appended to the error; ``{given}`` is replaced by the
            configured value. Default: ''.
    """
    key: str
    value: Any
    source: str
    hint: str = ''


def _comparable(value: Any) -> Any:
    # Configs give sequences as lists; the components report tuples.
    return tuple(value) if isinstance(value, list) else value


def fill_dims(cfg: dict, section: str,
              dims: Sequence[Union[Dim, Tuple[str, Any, str]]]) -> dict:
    """Fill sizes into a config section, or say which one disagrees.

    A size left out of the config is filled in; one that is given must
    equal the value the other component has, else a ValueError names the
    config key, the source and the fix.

    Args:
        cfg (dict): The config section, e.g. ``model.router``; not changed.
        section (str): Its name under ``model``, e.g. 'router'.
        dims (Sequence[Dim | tuple]): ``(key, value, source[, hint])``.

    Returns:
        dict: A copy of ``cfg`` with every key of ``dims`` set.
    """
    cfg = dict(cfg)
    for dim in dims:
        key, value, source, hint = Dim(*dim)
        given = _comparable(cfg.setdefault(key, value))
        if given != _comparable(value):
            raise ValueError(
                f'model.{section}.{key}={given} does not match {source}, '
                f'{value}: leave {section}.{key} out of the config (it is '
                f'filled in from there){hint.format(given=given)}')
    return cfg
