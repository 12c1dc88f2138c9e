from .glgf import GLGF
from .prior_injection import PriorInjection

__all__ = ['GLGF', 'PriorInjection']
