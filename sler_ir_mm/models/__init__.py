from .backbones import IdentityNet, SLERNet
from .encoders import (CLIPImageEncoder, ConvDegradationEncoder,
                       DACLIPEncoder, EncoderOutput)
from .losses import (DegradationClassificationLoss,
                     HypersphericalContrastiveLoss)
from .necks import GLGF
from .restorers import SLERRestorer
from .routers import ClassifierRouter, SphericalRouter

__all__ = [
    'SLERNet', 'IdentityNet', 'CLIPImageEncoder', 'ConvDegradationEncoder',
    'DACLIPEncoder', 'EncoderOutput', 'HypersphericalContrastiveLoss',
    'DegradationClassificationLoss', 'GLGF', 'SLERRestorer',
    'SphericalRouter', 'ClassifierRouter'
]
