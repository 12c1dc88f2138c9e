"""Registered MMagic metrics of the project."""
from .harm_rate import HarmRate
from .skimage_psnr_ssim import SkimagePSNRSSIM

__all__ = ['HarmRate', 'SkimagePSNRSSIM']
