from .glgf import GLGF, PriorInjection

__all__ = ['GLGF', 'PriorInjection']
