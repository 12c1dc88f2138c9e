from .identity_net import IdentityNet
from .restormer_weights import RestormerLoadInfo, load_restormer_weights
from .slernet import ExpertStack, SLERNet

__all__ = [
    'ExpertStack', 'IdentityNet', 'RestormerLoadInfo', 'SLERNet',
    'load_restormer_weights'
]
