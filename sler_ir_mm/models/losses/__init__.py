from .hyperspherical_contrastive_loss import HypersphericalContrastiveLoss

__all__ = ['HypersphericalContrastiveLoss']
