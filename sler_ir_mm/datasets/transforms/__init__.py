from .add_gaussian_noise import AddGaussianNoise, stable_hash
from .check_paired_size import CheckPairedSize
from .load_image_from_file_checked import (LoadImageFromFileChecked,
                                           UnreadableImageError)

__all__ = [
    'AddGaussianNoise', 'CheckPairedSize', 'LoadImageFromFileChecked',
    'UnreadableImageError', 'stable_hash'
]
