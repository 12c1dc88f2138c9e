from .slernet import ExpertStack, RestormerLoadInfo, SLERNet

__all__ = ['ExpertStack', 'RestormerLoadInfo', 'SLERNet']
