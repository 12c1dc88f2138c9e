"""SLER-IR all-in-one image restoration for MMagic."""
# Runtime fixes for the pinned stack must run before mmagic is imported anywhere.
from . import compat  # noqa: F401,I001
from .version import __version__, version_info

__all__ = ['__version__', 'version_info']
