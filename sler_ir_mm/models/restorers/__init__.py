from .sler_restorer import SLERRestorer

__all__ = ['SLERRestorer']
