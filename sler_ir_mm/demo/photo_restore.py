"""Restore one uploaded photo for the demo page, and say what happened.

Everything the page shows, computed without Gradio (so it can be tested
and reused): the restored image and its PNG, what the model recognised
(a score per known degradation, or per routed layer the probability of the
nearest center), the expert path as a picture and as text, how the photo
was converted on the way in (grayscale, alpha, 16 bit, EXIF orientation),
and the tiling, time and peak memory of the restore. A photo the model
cannot take (unreadable, too small) raises :class:`PhotoError` with a
message written for the page.
"""
import logging
import os
import os.path as osp
import time
from typing import Callable, Dict, List, NamedTuple, Optional

import numpy as np
import torch
import torch.nn as nn

from sler_ir_mm.apis import (ImageTooSmallError, Recognition, auto_tile,
                             read_image, restore_image)
from sler_ir_mm.apis.image_io import split_image
from sler_ir_mm.datasets.transforms.load_image_from_file_checked import \
    UnreadableImageError
from sler_ir_mm.utils.errors import SLERIRError
from sler_ir_mm.visualization import DEFAULT_LAYER_NAMES, draw_route
from .peak_memory import PeakMemory

__all__ = [
    'DEGRADATION_NAMES', 'PhotoError', 'PhotoResult', 'describe_conversions',
    'display_image', 'recognition_scores', 'recognition_text', 'restore_photo',
    'route_text'
]

logger = logging.getLogger(__name__)

#: Plain names of the degradation classes the project's towers know.
DEGRADATION_NAMES = dict(
    denoise='noise',
    derain='rain',
    dehaze='haze',
    deblur='blur',
    lowlight='low light')

_TILE_OVERLAP = 32
_EXIF_ORIENTATION_TAG = 0x0112
# What the EXIF orientation tag says was done to show the photo upright.
_ORIENTATION_TEXT = {
    2: 'mirrored left to right',
    3: 'rotated by 180 degrees',
    4: 'mirrored top to bottom',
    5: 'mirrored and rotated by 90 degrees',
    6: 'rotated by 90 degrees clockwise',
    7: 'mirrored and rotated by 90 degrees',
    8: 'rotated by 90 degrees counter-clockwise',
}

#: progress(done_tiles, total_tiles)
ProgressFn = Callable[[int, int], None]


class PhotoError(SLERIRError, ValueError):
    """A photo the model cannot restore; the message is for the page."""


class PhotoResult(NamedTuple):
    """What the page shows for one restored photo.

    Attributes:
        image (np.ndarray): The restored image, uint8, RGB order, in the
            input's layout (gray stays gray, alpha is kept).
        before (np.ndarray): The input as a browser shows it: uint8 RGB or
            RGBA, upright.
        after (np.ndarray): The restored image as a browser shows it.
        png_path (str): The restored image as a PNG file.
        recognition (Recognition | None): What the model recognised; None
            for a model without routing.
        route (list[int] | None): The expert of each routed layer; None for
            a model without routing.
        route_picture (np.ndarray | None): The route picture, RGB uint8.
        notes (list[str]): How the photo was converted on the way in.
        stats (str): Size, tiling, time and peak memory of the restore.
    """
    image: np.ndarray
    before: np.ndarray
    after: np.ndarray
    png_path: str
    recognition: Optional[Recognition]
    route: Optional[List[int]]
    route_picture: Optional[np.ndarray]
    notes: List[str]
    stats: str


def _exif_orientation(path: str) -> int:
    try:
        from PIL import Image
        with Image.open(path) as img:
            value = int(img.getexif().get(_EXIF_ORIENTATION_TAG, 1))
    except Exception:  # no PIL, a format PIL does not know, broken EXIF
        return 1
    return value if value in _ORIENTATION_TEXT else 1


def describe_conversions(image: np.ndarray, orientation: int = 1) -> List[str]:
    """How a photo is converted for the model, in plain words.

    Args:
        image (np.ndarray): The photo as :func:`read_image` gives it.
        orientation (int): Its EXIF orientation (1 = none). Default: 1.

    Returns:
        list[str]: One sentence per conversion; empty for an upright 8-bit
        RGB photo.
    """
    notes = []
    if orientation != 1:
        notes.append('Turned upright by its EXIF orientation (the camera '
                     f'stored it {_ORIENTATION_TEXT[orientation]}).')
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels in (1, 2):
        notes.append('Grayscale photo: restored as three equal color '
                     'channels and given back in gray.')
    if channels in (2, 4):
        notes.append('It has an alpha (transparency) channel: only the '
                     'colors are restored, the alpha is kept unchanged.')
    if image.dtype == np.uint16:
        notes.append('16-bit photo: converted to 8 bit (the model works '
                     'on 8-bit images); the result is an 8-bit PNG.')
    return notes


def display_image(image: np.ndarray) -> np.ndarray:
    """An image as a browser shows it: uint8 RGB, or RGBA with alpha."""
    if image.dtype == np.uint16:
        image = np.rint(image.astype(np.float32) / 257.0).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 2:
        gray, alpha = image[..., :1], image[..., 1:]
        return np.concatenate([np.repeat(gray, 3, axis=2), alpha], axis=2)
    return np.ascontiguousarray(image)


def _write_png(path: str, image: np.ndarray) -> None:
    """A uint8 gray, gray + alpha, RGB or RGBA image as PNG."""
    from PIL import Image
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image)).save(path)


def _plain(name: str) -> str:
    return DEGRADATION_NAMES.get(name, name)


def _layer_names(count: int) -> List[str]:
    if count == len(DEFAULT_LAYER_NAMES):
        return list(DEFAULT_LAYER_NAMES)
    return [f'L{i + 1}' for i in range(count)]


def recognition_scores(recognition: Optional[Recognition]) -> Dict[str, float]:
    """Scores for a label widget: the probability of each known degradation
    (plain names), or, without prototypes, per routed layer the
    probability of its nearest center (the expert it took)."""
    if recognition is None:
        return {}
    if recognition.scores:
        return {_plain(k): float(v) for k, v in recognition.scores.items()}
    names = _layer_names(len(recognition.route))
    return {
        f'{name}: nearest center E{expert + 1}': float(probs[expert])
        for name, expert, probs in zip(names, recognition.route,
                                       recognition.layer_scores)
    }


def recognition_text(recognition: Optional[Recognition]) -> str:
    """What the model recognised and how sure it is, as Markdown."""
    if recognition is None:
        return ('This model does not route (a plain restorer): it '
                'recognises nothing and has no expert path.')
    lines = []
    if recognition.label is not None:
        ranked = sorted(recognition.scores.items(), key=lambda kv: -kv[1])
        text = (f'**Recognised: {_plain(recognition.label)}** '
                f'(probability {ranked[0][1]:.2f}')
        if len(ranked) > 1:
            text += f'; next: {_plain(ranked[1][0])} {ranked[1][1]:.2f}'
        lines.append(text + ').')
    else:
        lines.append(
            "This model's degradation encoder has no degradation "
            'prototypes, so it cannot name the degradation; the scores are '
            "each routed layer's probability of its nearest center (the "
            'expert it took).')
    if recognition.similarity is not None:
        nearest = ('the nearest trained degradation'
                   if recognition.source == 'prototypes' else
                   'the nearest routing centers (mean over layers)')
        text = (f'Similarity to {nearest}: '
                f'{recognition.similarity:.2f}')
        if recognition.threshold is not None:
            text += (f'; photos below {recognition.threshold:.2f} look '
                     'unlike every trained degradation.')
        else:
            what = ('this encoder has no calibrated threshold'
                    if recognition.source == 'prototypes' else
                    'without prototypes there is no threshold')
            text += (f'; {what}, so the "unlike every trained degradation" '
                     'check is off.')
        lines.append(text)
    warning = recognition.warning()
    if warning:
        lines.append(f'**Warning:** {warning}')
    return '\n\n'.join(lines)


def route_text(route: Optional[List[int]]) -> str:
    """The expert path as Markdown: each routed layer's expert (E1 = the
    first, as in the route picture) and the compact route of
    ``restore_images.py`` (expert indices from 0)."""
    if route is None:
        return 'No expert path: this model does not route.'
    route = [int(i) for i in route]
    steps = ' → '.join(
        f'{name} E{expert + 1}'
        for name, expert in zip(_layer_names(len(route)), route))
    return (f'**Path:** {steps}\n\nRoute (expert index per layer, from 0, '
            f'as in routes.json): `{"-".join(str(i) for i in route)}`')


def _num_experts(model: nn.Module, route: np.ndarray) -> int:
    count = getattr(getattr(model, 'generator', None), 'num_experts', None)
    return int(count) if count else int(route.max()) + 1


def _read(path: str, name: str) -> np.ndarray:
    try:
        image = read_image(path, 'rgb')
        # The layout checks of the restore, before any model time is spent.
        split_image(image, 'rgb', name)
    except (UnreadableImageError, ValueError, TypeError) as err:
        reason = str(err).replace(path, name)
        # The message starts with the file; it is said once.
        for prefix in (f'cannot read image file {name}: ', f'{name}: '):
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
        raise PhotoError(
            f'Cannot use {name} as a photo: {reason}. Upload a PNG, JPEG, '
            'TIFF, BMP or WebP image.') from err
    return image


def restore_photo(model: nn.Module,
                  path: str,
                  out_dir: str,
                  tile_large: bool = True,
                  progress: Optional[ProgressFn] = None,
                  name: Optional[str] = None) -> PhotoResult:
    """Restore an uploaded photo and gather what the page shows.

    Args:
        model (nn.Module): From :func:`sler_ir_mm.apis.init_restorer`.
        path (str): The photo file.
        out_dir (str): Where to write the restored PNG.
        tile_large (bool): Restore large photos in tiles
            (:func:`~sler_ir_mm.apis.auto_tile` chooses). Default: True.
        progress (callable, optional): ``progress(done, total)`` tiles.
        name (str, optional): The photo's name in messages. Default: the
            file's name.

    Returns:
        PhotoResult: The restored image and what to show with it.

    Raises:
        PhotoError: The file is not an image the model can take
            (unreadable, an unsupported layout, too small).
    """
    path = os.fspath(path)
    name = name or osp.basename(path)
    image = _read(path, name)
    notes = describe_conversions(image, _exif_orientation(path))
    height, width = image.shape[:2]
    tile = auto_tile(height, width) if tile_large else None
    # As restore_images.py: 32, or a quarter of a tile smaller than 128.
    overlap = 0 if tile is None else min(_TILE_OVERLAP, tile // 4)
    device = next(model.parameters()).device
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    try:
        with PeakMemory() as peak:
            result = restore_image(
                model,
                image,
                tile=tile,
                tile_overlap=overlap,
                channel_order='rgb',
                progress=progress)
    except ImageTooSmallError as err:
        detail = str(err).split(': ', 1)[-1]
        raise PhotoError(f'{name} is too small for the model: {detail}.') \
            from err
    stats = f'{width} x {height} pixels, '
    stats += (f'restored in tiles of {tile} px (overlap {overlap})'
              if tile else 'restored whole')
    stats += f' on {device.type}; {peak.describe()}'
    if device.type == 'cuda':
        stats += (f'; {torch.cuda.max_memory_allocated(device) / 1e9:.2f} '
                  'GB peak GPU memory')
    stem = osp.splitext(name)[0] or 'photo'
    # A folder per restore keeps the download's name plain.
    png_path = osp.join(out_dir, str(time.time_ns()), f'{stem}_restored.png')
    _write_png(png_path, result.image)
    picture = route = None
    if result.route is not None:
        picture = draw_route(result.route, _num_experts(model, result.route))
        route = [int(i) for i in result.route]
    logger.info('restored %s: %s', name, stats)
    return PhotoResult(result.image, display_image(image),
                       display_image(result.image), png_path,
                       result.recognition, route, picture, notes, stats)
