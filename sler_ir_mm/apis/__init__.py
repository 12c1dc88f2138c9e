"""Inference on a user's own images."""
from .inference import (IMAGE_EXTENSIONS, RestorationResult, init_restorer,
                        read_image, restore_image)

__all__ = [
    'IMAGE_EXTENSIONS', 'RestorationResult', 'init_restorer', 'read_image',
    'restore_image'
]
