"""Inference on a user's own images."""
from .inference import (IMAGE_EXTENSIONS, MIN_IMAGE_SIDE, ImageTooSmallError,
                        RestorationResult, init_restorer, read_image,
                        restore_image)
from .recognition import Recognition, recognize
from .tiling import AUTO_TILE_MIN_PIXELS, DEFAULT_TILE, auto_tile

__all__ = [
    'AUTO_TILE_MIN_PIXELS', 'DEFAULT_TILE', 'IMAGE_EXTENSIONS',
    'ImageTooSmallError', 'MIN_IMAGE_SIDE', 'Recognition',
    'RestorationResult', 'auto_tile', 'init_restorer', 'read_image',
    'recognize', 'restore_image'
]
