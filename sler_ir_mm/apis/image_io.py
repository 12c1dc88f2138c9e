"""Images as users give them to the restorer, and back.

Files are read as stored (8 or 16 bit, gray, color, alpha) and turned
upright by their EXIF orientation; an image is split into the color the
model restores and what it passes through (alpha, gray layout), and joined
back after.
"""
import io
import os
from typing import NamedTuple, Optional, Union

import cv2
import numpy as np

from sler_ir_mm.datasets.transforms.load_image_from_file_checked import \
    UnreadableImageError

__all__ = [
    'IMAGE_EXTENSIONS', 'SplitImage', 'check_channel_order', 'join_image',
    'read_image', 'split_image'
]

#: File extensions that folder and glob inputs pick up (lower case).
IMAGE_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.ppm', '.pgm', '.pnm',
                    '.tif', '.tiff', '.webp')

_EXIF_ORIENTATION_TAG = 0x0112


def _exif_orientation(data: bytes) -> int:
    """EXIF orientation (1-8) of an encoded image; 1 if it has none."""
    try:
        from PIL import Image
        with Image.open(io.BytesIO(data)) as img:
            value = int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # no PIL, a format PIL does not know, broken EXIF
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn the stored pixels upright, as image viewers show them."""
    if orientation in (5, 6, 7, 8):
        img = np.swapaxes(img, 0, 1)
    # After the transpose, each case is a flip (EXIF 2-8, as PIL's
    # ImageOps.exif_transpose).
    flip_rows = orientation in (3, 4, 7, 8)
    flip_cols = orientation in (2, 3, 6, 7)
    if flip_rows:
        img = img[::-1]
    if flip_cols:
        img = img[:, ::-1]
    return np.ascontiguousarray(img)


def read_image(path: Union[str, os.PathLike],
               channel_order: str = 'rgb') -> np.ndarray:
    """Read an image file as it is stored (bit depth, alpha kept).

    The EXIF orientation is applied, as MMagic's loaders (OpenCV in color
    mode) do, so photos come out upright.

    Args:
        path (str): The image file.
        channel_order (str): 'rgb' or 'bgr', the order of the color channels
            returned. Default: 'rgb'.

    Returns:
        np.ndarray: uint8 or uint16, (H, W) gray, (H, W, 3) color or
        (H, W, 4) color with alpha.
    """
    check_channel_order(channel_order)
    path = os.fspath(path)
    with open(path, 'rb') as f:  # FileNotFoundError names the file
        data = f.read()
    if not data:
        raise UnreadableImageError(
            f'cannot read image file {path}: empty file (0 bytes)')
    try:
        # imdecode reads non-ASCII paths' bytes, which cv2.imread cannot on
        # every platform.
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        raise UnreadableImageError(
            f'cannot read image file {path}: not a decodable image '
            f'({len(data)} bytes): truncated, corrupt or an unknown format')
    if img.dtype not in (np.uint8, np.uint16):
        raise UnreadableImageError(
            f'image file {path} holds {img.dtype} pixels; only 8- and 16-bit '
            'images are supported')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    img = _apply_orientation(img, _exif_orientation(data))
    if img.ndim == 3 and channel_order == 'rgb':
        # OpenCV decodes to BGR(A).
        img = img[..., [2, 1, 0, 3][:img.shape[2]]]
    return np.ascontiguousarray(img)


def check_channel_order(channel_order: str) -> None:
    """Refuse a channel order other than 'rgb' or 'bgr'."""
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(
            f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")


class SplitImage(NamedTuple):
    """An input image taken apart for the model."""
    color: np.ndarray  # (H, W, 3) float32 RGB in [0, 255]
    alpha: Optional[np.ndarray]  # (H, W) uint8, or None
    gray: bool
    keep_channel_axis: bool  # gray given as (H, W, 1)


def split_image(img: np.ndarray, channel_order: str,
                name: str) -> SplitImage:
    """Take an input image apart for the model.

    Args:
        img (np.ndarray): uint8 or uint16, (H, W) or (H, W, C), C in 1-4.
        channel_order (str): 'rgb' or 'bgr', the order of its colors.
        name (str): What to call the image in errors (e.g. its file).

    Returns:
        SplitImage: float32 RGB in [0, 255] (16 bit scaled by 1 / 257), the
        alpha channel as uint8, and the layout to give back.
    """
    if not isinstance(img, np.ndarray):
        raise TypeError(f'{name}: image must be a file path or a numpy '
                        f'array, got {type(img).__name__}')
    if img.dtype == np.uint8:
        scale = 1.0
    elif img.dtype == np.uint16:
        # 65535 -> 255 exactly; the model sees the 16-bit precision.
        scale = 1.0 / 257.0
    else:
        raise TypeError(f'{name}: image must be uint8 or uint16, got '
                        f'{img.dtype}')
    if img.ndim == 2:
        img = img[..., None]
        keep_axis = False
    elif img.ndim == 3 and 1 <= img.shape[2] <= 4:
        keep_axis = img.shape[2] == 1
    else:
        raise ValueError(f'{name}: image must be (H, W) or (H, W, C) with C '
                         f'in 1-4 (gray, gray+alpha, color, color+alpha), '
                         f'got shape {img.shape}')
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f'{name}: image is empty, shape {img.shape}')
    channels = img.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = img[..., -1]
        if scale != 1.0:
            alpha = np.rint(alpha.astype(np.float32) * scale)
        alpha = alpha.astype(np.uint8)
        img = img[..., :-1]
    gray = img.shape[2] == 1
    color = img.astype(np.float32) * scale
    if gray:
        # The model restores color images: give it the gray in all three.
        color = np.repeat(color, 3, axis=2)
    elif channel_order == 'bgr':
        color = color[..., ::-1]
    return SplitImage(np.ascontiguousarray(color), alpha, gray, keep_axis)


def join_image(pred: np.ndarray, split: SplitImage,
               channel_order: str) -> np.ndarray:
    """(H, W, 3) float RGB in [0, 255] -> uint8 image in the input's layout.

    Args:
        pred (np.ndarray): The restored colors, (H, W, 3) RGB.
        split (SplitImage): What :func:`split_image` kept of the input.
        channel_order (str): 'rgb' or 'bgr', the order to give colors in.
    """
    pred = np.clip(pred, 0, 255)
    if split.gray:
        # The mean of the three restored channels: each is the model's
        # estimate of the same gray value, so averaging weighs them equally.
        pred = pred.mean(axis=2, keepdims=True)
    elif channel_order == 'bgr':
        pred = pred[..., ::-1]
    out = np.rint(pred).astype(np.uint8)
    if split.alpha is not None:
        out = np.concatenate([out, split.alpha[..., None]], axis=2)
    elif split.gray and not split.keep_channel_axis:
        out = out[..., 0]
    return np.ascontiguousarray(out)
