"""SLER-IR all-in-one image restoration for MMagic."""
# The runtime fixes must run before anything imports mmagic.
from . import compat  # noqa: F401,I001
from .version import __version__, version_info
# Importing the subpackages registers their components in MMagic's registries.
from . import datasets, engine, evaluation, models  # noqa: F401,E402

__all__ = ['__version__', 'version_info']
