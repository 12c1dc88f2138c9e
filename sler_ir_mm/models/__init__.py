from .backbones import SLERNet
from .encoders import (CLIPImageEncoder, ConvDegradationEncoder,
                       DACLIPEncoder, EncoderOutput)
from .losses import HypersphericalContrastiveLoss
from .necks import GLGF
from .restorers import SLERRestorer
from .routers import SphericalRouter

__all__ = [
    'SLERNet', 'CLIPImageEncoder', 'ConvDegradationEncoder', 'DACLIPEncoder',
    'EncoderOutput', 'HypersphericalContrastiveLoss', 'GLGF', 'SLERRestorer',
    'SphericalRouter'
]
