from .identity_net import IdentityNet
from .slernet import ExpertStack, RestormerLoadInfo, SLERNet

__all__ = ['ExpertStack', 'IdentityNet', 'RestormerLoadInfo', 'SLERNet']
