"""Argument checks shared by the components' constructors."""
import numbers


def check_int(name: str, value: int, minimum: int = 1) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is an int (not a
    bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')


def check_float_range(name: str,
                      value: float,
                      low: float,
                      high: float,
                      low_open: bool = False) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is a number in
    ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = '(' if low_open else '['
        raise ValueError(f'{name} must be a number in {bracket}{low}, '
                         f'{high}], got {value!r}')
