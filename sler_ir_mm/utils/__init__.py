from .arg_checks import check_float_range, check_int

__all__ = ['check_float_range', 'check_int']
