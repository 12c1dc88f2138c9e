from .backbones import SLERNet
from .encoders import ConvDegradationEncoder
from .losses import HypersphericalContrastiveLoss
from .restorers import SLERRestorer
from .routers import SphericalRouter

__all__ = [
    'SLERNet', 'ConvDegradationEncoder', 'HypersphericalContrastiveLoss',
    'SLERRestorer', 'SphericalRouter'
]
