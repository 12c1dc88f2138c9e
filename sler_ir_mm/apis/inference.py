"""Restore a user's own images of any size with a trained model.

``init_restorer`` builds a model from a config and a checkpoint;
``restore_image`` restores one image (a file or an array): grayscale, RGB or
RGBA, 8 or 16 bit, any size, optionally in overlapping tiles, and returns
the SLER-IR route (one expert index per routed layer) with it. Plain MMagic
restorers (e.g. ``BaseEditModel`` with a ``Restormer``) work too, without a
route.
"""
import copy
import io
import os
import os.path as osp
from typing import Callable, List, NamedTuple, Optional, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from sler_ir_mm.datasets.transforms.load_image_from_file_checked import \
    UnreadableImageError
from sler_ir_mm.models.restorers.sler_restorer import pad_to_multiple
from sler_ir_mm.utils import check_int

__all__ = [
    'IMAGE_EXTENSIONS', 'RestorationResult', 'init_restorer', 'read_image',
    'restore_image'
]

#: File extensions that folder and glob inputs pick up (lower case).
IMAGE_EXTENSIONS = ('.bmp', '.jpeg', '.jpg', '.png', '.ppm', '.pgm', '.pnm',
                    '.tif', '.tiff', '.webp')

# Restormer-like backbones downsample 3 times; plain MMagic models reflect-pad
# inside, which fails on images smaller than the padding, so we pad first.
_PLAIN_MODEL_MULTIPLE = 8
_EXIF_ORIENTATION_TAG = 0x0112

ImageInput = Union[str, os.PathLike, np.ndarray]
# A tile: (top, left, height, width) in pixels.
Box = Tuple[int, int, int, int]
HW = Tuple[int, int]


class RestorationResult(NamedTuple):
    """What :func:`restore_image` returns.

    Attributes:
        image (np.ndarray): The restored image, uint8, in the input's layout:
            (H, W) or (H, W, 1) for gray, (H, W, 3) color, (H, W, 4) color
            with the input's alpha, (H, W, 2) gray with alpha.
        route (np.ndarray | None): (num_routed_layers,) int64 expert index
            of each routed layer (SLER-IR), None for a model without routing.
    """
    image: np.ndarray
    route: Optional[np.ndarray]


# ---------------------------------------------------------------- the model
def _check_device(device: Union[str, torch.device]) -> torch.device:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f'device must be like "cpu", "cuda" or "cuda:1", '
                         f'got {device!r}') from e
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise RuntimeError(f'device {str(device)!r} was requested, but '
                               'CUDA is not available here; use '
                               "device='cpu'")
        if device.index is not None and \
                device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f'device {str(device)!r} was requested, but only '
                f'{torch.cuda.device_count()} CUDA device(s) are visible')
    return device


def init_restorer(config: Union[str, os.PathLike, Config],
                  checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu',
                  cfg_options: Optional[dict] = None,
                  strict: bool = True) -> nn.Module:
    """Build a restorer from a config and load its checkpoint.

    Args:
        config (str | Config): Config file path or a loaded config.
        checkpoint (str, optional): Checkpoint file (an MMEngine checkpoint
            with ``state_dict``). None keeps the built (random) weights.
        device (str | torch.device): Where to put the model. Default: 'cpu'.
        cfg_options (dict, optional): Config overrides, as
            ``--cfg-options`` gives them (``{'model.stage': 2}``).
        strict (bool): Fail when the checkpoint's keys do not match the
            model's, so a checkpoint of another config cannot leave weights
            silently random. Default: True.

    Returns:
        nn.Module: The model in eval mode on ``device``, with the config as
        ``model.cfg``.
    """
    if isinstance(config, (str, os.PathLike)):
        config = os.fspath(config)
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(config)
    elif isinstance(config, Config):
        # The caller's config stays as it was.
        config = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file path or an mmengine Config, '
                        f'got {type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if config.get('model', None) is None:
        raise KeyError(f'config {config.filename or "<Config>"} has no '
                       '`model` entry')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    device = _check_device(device)

    init_default_scope(config.get('default_scope', 'mmagic'))
    from mmagic.registry import MODELS
    model = MODELS.build(config.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=strict)
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device('cpu')


def _normalization(model: nn.Module,
                   device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """The (1, C, 1, 1) mean and std of the model's data preprocessor."""
    preprocessor = getattr(model, 'data_preprocessor', None)
    mean = getattr(preprocessor, 'mean', None)
    std = getattr(preprocessor, 'std', None)
    if mean is None or std is None:
        # No normalization: the model takes images in [0, 255].
        return (torch.zeros(1, 1, 1, 1, device=device),
                torch.ones(1, 1, 1, 1, device=device))
    return (mean.detach().reshape(1, -1, 1, 1).float().to(device),
            std.detach().reshape(1, -1, 1, 1).float().to(device))


# ----------------------------------------------------------------- the image
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
    _check_channel_order(channel_order)
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


def _check_channel_order(channel_order: str) -> None:
    if channel_order not in ('rgb', 'bgr'):
        raise ValueError(
            f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")


class _SplitImage(NamedTuple):
    """An input image taken apart for the model."""
    color: np.ndarray  # (H, W, 3) float32 RGB in [0, 255]
    alpha: Optional[np.ndarray]  # (H, W) uint8, or None
    gray: bool
    keep_channel_axis: bool  # gray given as (H, W, 1)


def _split_image(img: np.ndarray, channel_order: str,
                 name: str) -> _SplitImage:
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
    return _SplitImage(np.ascontiguousarray(color), alpha, gray, keep_axis)


def _join_image(pred: np.ndarray, split: _SplitImage,
                channel_order: str) -> np.ndarray:
    """(H, W, 3) float RGB in [0, 255] -> uint8 image in the input's layout.
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


# ------------------------------------------------------------------- tiling
def _tile_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Starts of tiles of size ``min(tile, length)`` covering ``length``."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - overlap))
    # The last tile ends at the border (it may overlap its neighbour more).
    starts.append(length - tile)
    return starts


def _ramp(length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """Blending weights along one tile axis: a linear ramp over ``overlap``
    pixels at each end, 1 inside.

    Two neighbours overlapping by exactly ``overlap`` pixels cross-fade with
    weights summing to 1; all weights are > 0, so dividing by the summed
    weights is exact at the image borders too.
    """
    i = torch.arange(length, device=device, dtype=torch.float32)
    ramp = torch.minimum(i + 1, length - i) / (overlap + 1)
    return ramp.clamp(max=1.0)


def _prior_for_region(prior: torch.Tensor, grid_hw: HW, box: Box, image_hw: HW,
                      multiple: int) -> torch.Tensor:
    """The whole image's GLGF prior resampled to one tile.

    The backbone stretches the prior grid over its padded input, so a pixel
    of the whole (padded) image gets the prior at its relative position; the
    tile's prior grid is sampled at the same positions, so each tile sees the
    prior of its own region.
    """
    h, w = grid_hw
    top, left, height, width = box
    full_h = image_hw[0] + (-image_hw[0]) % multiple
    full_w = image_hw[1] + (-image_hw[1]) % multiple
    tile_h = height + (-height) % multiple
    tile_w = width + (-width) % multiple
    device = prior.device
    ys = top + (torch.arange(h, device=device) + 0.5) * tile_h / h
    xs = left + (torch.arange(w, device=device) + 0.5) * tile_w / w
    # grid_sample with align_corners=False: -1 and 1 are the outer edges.
    gy = ys * 2 / full_h - 1
    gx = xs * 2 / full_w - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing='xy'), dim=-1)
    b, n, c = prior.shape
    prior_map = prior.transpose(1, 2).reshape(b, c, h, w)
    sampled = F.grid_sample(
        prior_map,
        grid.unsqueeze(0).expand(b, -1, -1, -1).to(prior.dtype),
        mode='bilinear',
        padding_mode='border',
        align_corners=False)
    return sampled.flatten(2).transpose(1, 2)


RegionFn = Callable[[torch.Tensor, Box], torch.Tensor]


def _plan(model: nn.Module,
          inputs: torch.Tensor) -> Tuple[RegionFn, Optional[torch.Tensor]]:
    """Route the whole image once; return ``restore(region, box)`` and the
    route.

    ``inputs`` are the model's (normalized) inputs, (1, 3, H, W).
    """
    image_hw = tuple(inputs.shape[-2:])
    full_box = (0, 0) + image_hw
    if hasattr(model, 'restore_with_route'):
        # SLER-IR: the route and GLGF's prior come from the whole image (the
        # degradation is judged globally); every tile follows that route.
        encoded = model.encode(inputs)
        routed = model.route_encoded(encoded)
        routing = model.inference_routing(routed)

        def restore(region: torch.Tensor, box: Box) -> torch.Tensor:
            prior = encoded.prior
            if prior is not None and box != full_box:
                prior = _prior_for_region(prior, encoded.grid_hw, box,
                                          image_hw, model.pad_multiple)
            return model.restore_with_route(region, routing, prior,
                                            encoded.grid_hw)

        return restore, routed.indices[0]

    if not hasattr(model, 'forward_tensor'):
        raise TypeError(
            f'{type(model).__name__} is not an MMagic restorer: it has '
            'neither restore_with_route (SLER-IR) nor forward_tensor '
            '(BaseEditModel)')

    def restore_plain(region: torch.Tensor, box: Box) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(region, _PLAIN_MODEL_MULTIPLE)
        return model.forward_tensor(padded)[..., :h, :w]

    return restore_plain, None


def _restore_tensor(restore: RegionFn, inputs: torch.Tensor,
                    tile: Optional[int], overlap: int) -> torch.Tensor:
    height, width = inputs.shape[-2:]
    if tile is None or (height <= tile and width <= tile):
        return restore(inputs, (0, 0, height, width))
    tile_h, tile_w = min(tile, height), min(tile, width)
    weight = (
        _ramp(tile_h, overlap, inputs.device)[:, None] *
        _ramp(tile_w, overlap, inputs.device)[None, :])
    out = inputs.new_zeros(inputs.shape, dtype=torch.float32)
    total = inputs.new_zeros((height, width), dtype=torch.float32)
    for top in _tile_starts(height, tile_h, overlap):
        for left in _tile_starts(width, tile_w, overlap):
            region = inputs[..., top:top + tile_h, left:left + tile_w]
            pred = restore(region, (top, left, tile_h, tile_w))
            out[..., top:top + tile_h, left:left + tile_w] += \
                pred.float() * weight
            total[top:top + tile_h, left:left + tile_w] += weight
    return out / total


@torch.no_grad()
def restore_image(model: nn.Module,
                  image: ImageInput,
                  tile: Optional[int] = None,
                  tile_overlap: int = 32,
                  channel_order: str = 'rgb') -> RestorationResult:
    """Restore one image of any size.

    Gray images go through the model as three equal channels and come back
    gray (the mean of the three outputs); the alpha channel of RGBA (or
    gray + alpha) is passed through unchanged. 16-bit images are scaled to
    the 8-bit range (x / 257) and the result is 8 bit.

    With ``tile``, the image is restored in overlapping tiles blended with
    linear ramps, which bounds memory for large images. A SLER-IR model
    routes once, on the whole image, and restores every tile along that
    route, with GLGF's prior computed once from the whole image and
    resampled to each tile. Tiles still differ slightly from a whole-image
    pass: the backbone's attention (and GLGF's injection) only see the
    tile's pixels.

    Args:
        model (nn.Module): From :func:`init_restorer` (an ``SLERRestorer``
            or an MMagic ``BaseEditModel``).
        image (str | np.ndarray): A file path, or an array (H, W) gray,
            (H, W, 1) gray, (H, W, 2) gray + alpha, (H, W, 3) color or
            (H, W, 4) color + alpha, uint8 or uint16.
        tile (int, optional): Tile size (>= 8) in pixels; None restores the
            whole image at once. Default: None.
        tile_overlap (int): Overlap of neighbouring tiles, in
            [0, tile). Default: 32.
        channel_order (str): 'rgb' or 'bgr': the order of the color channels
            of an array input and of the returned image. Default: 'rgb'.

    Returns:
        RestorationResult: The uint8 image, in the input's layout, and the
        route (None for a model without routing). Under soft routing
        (stage 1) the route is each layer's most probable expert.
    """
    _check_channel_order(channel_order)
    if tile is not None:
        check_int('tile', tile, 8)
        check_int('tile_overlap', tile_overlap, 0)
        if tile_overlap >= tile:
            raise ValueError(f'tile_overlap must be smaller than tile '
                             f'({tile}), got {tile_overlap}')
    if isinstance(image, (str, os.PathLike)):
        name = os.fspath(image)
        image = read_image(name, channel_order)
    else:
        name = 'restore_image'
    split = _split_image(image, channel_order, name)

    device = _model_device(model)
    mean, std = _normalization(model, device)
    inputs = torch.from_numpy(split.color).permute(2, 0, 1)[None].to(device)
    inputs = (inputs - mean) / std
    restore, route = _plan(model, inputs)
    pred = _restore_tensor(restore, inputs, tile, tile_overlap)
    pred = (pred * std + mean)[0].permute(1, 2, 0).float().cpu().numpy()
    route = None if route is None else route.cpu().numpy().astype(np.int64)
    return RestorationResult(_join_image(pred, split, channel_order), route)
