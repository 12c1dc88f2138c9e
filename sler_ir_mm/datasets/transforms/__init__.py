from .add_gaussian_noise import AddGaussianNoise, stable_hash
from .load_image_from_file_checked import (LoadImageFromFileChecked,
                                           UnreadableImageError)

__all__ = [
    'AddGaussianNoise', 'LoadImageFromFileChecked', 'UnreadableImageError',
    'stable_hash'
]
