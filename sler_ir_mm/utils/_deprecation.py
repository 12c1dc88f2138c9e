"""Old import paths that keep working for one release with a warning."""
import importlib
import sys
import warnings


def warn_moved(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` moved to ``new``."""
    warnings.warn(
        f'{old} moved to {new}; the old path will be removed in the next '
        'release', DeprecationWarning, stacklevel=stacklevel)


def alias_module(old: str, new: str) -> None:
    """Make module ``old`` the module ``new`` (one object, two names)."""
    warn_moved(old, new, stacklevel=4)
    sys.modules[old] = importlib.import_module(new)
