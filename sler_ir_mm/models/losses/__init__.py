from .degradation_classification_loss import DegradationClassificationLoss
from .hyperspherical_contrastive_loss import HypersphericalContrastiveLoss

__all__ = ['DegradationClassificationLoss', 'HypersphericalContrastiveLoss']
