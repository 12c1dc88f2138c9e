"""Restore a user's own images of any size with a trained model.

``init_restorer`` builds a model from a config and a checkpoint;
``restore_image`` restores one image (a file or an array): grayscale, RGB or
RGBA, 8 or 16 bit, any size, optionally in overlapping tiles, and returns
the SLER-IR route (one expert index per routed layer) with it. Plain MMagic
restorers (e.g. ``BaseEditModel`` with a ``Restormer``) work too, without a
route. Reading and writing images is in :mod:`.image_io`, the tiles in
:mod:`.tiling`; how SLER-IR restores a tile along the whole image's route
is the model's (``SLERRestorer.plan_restore``).
"""
import copy
import os
import os.path as osp
from typing import NamedTuple, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from sler_ir_mm.models.restorers.sler_restorer import pad_to_multiple
from sler_ir_mm.utils import check_int
from sler_ir_mm.utils.view_geometry import Box
from .image_io import (IMAGE_EXTENSIONS, check_channel_order, join_image,
                       read_image, split_image)
from .recognition import Recognition, recognize
from .tiling import ProgressFn, RegionFn, auto_tile, restore_tiled

__all__ = [
    'IMAGE_EXTENSIONS', 'MIN_IMAGE_SIDE', 'ImageTooSmallError',
    'RestorationResult', 'init_restorer', 'read_image', 'restore_image'
]

#: The smallest image side restored: below it GLGF's 4 x 4 crops of the
#: image would be under 4 pixels and the degradation encoder would see an
#: upsampled handful of pixels, not a degradation.
MIN_IMAGE_SIDE = 16

# Pad multiple of a plain model whose backbone states no size_divisor:
# Restormer-like backbones downsample 3 times, and plain MMagic models
# reflect-pad inside, which fails on images smaller than the padding, so we
# pad first.
_PLAIN_MODEL_MULTIPLE = 8

ImageInput = Union[str, os.PathLike, np.ndarray]


class ImageTooSmallError(ValueError):
    """An image with a side below :data:`MIN_IMAGE_SIDE`."""


class RestorationResult(NamedTuple):
    """What :func:`restore_image` returns.

    Attributes:
        image (np.ndarray): The restored image, uint8, in the input's layout:
            (H, W) or (H, W, 1) for gray, (H, W, 3) color, (H, W, 4) color
            with the input's alpha, (H, W, 2) gray with alpha.
        route (np.ndarray | None): (num_routed_layers,) int64 expert index
            of each routed layer (SLER-IR), None for a model without routing.
        recognition (Recognition | None): What the model recognised in the
            image (SLER-IR), None for a model without routing.
    """
    image: np.ndarray
    route: Optional[np.ndarray]
    recognition: Optional[Recognition] = None


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


# ------------------------------------------------------------ the restore
def _plain_multiple(model: nn.Module) -> int:
    """What a plain model's inputs are padded to: its backbone's
    ``size_divisor``, else :data:`_PLAIN_MODEL_MULTIPLE`."""
    generator = getattr(model, 'generator', None)
    return getattr(generator, 'size_divisor', _PLAIN_MODEL_MULTIPLE)


def _plan(
    model: nn.Module, inputs: torch.Tensor
) -> Tuple[RegionFn, Optional[torch.Tensor], Optional[Recognition]]:
    """``restore(region, box)`` of the model's inputs, the route and what
    the model recognised.

    ``inputs`` are the model's (normalized) inputs, (1, 3, H, W). A model
    with ``plan_restore`` (SLER-IR) routes once, on the whole image;
    another restores each region by itself.
    """
    if hasattr(model, 'plan_restore'):
        plan = model.plan_restore(inputs)
        return plan, plan.route[0], recognize(model, plan)

    if not hasattr(model, 'forward_tensor'):
        raise TypeError(
            f'{type(model).__name__} is not an MMagic restorer: it has '
            'neither plan_restore (SLER-IR) nor forward_tensor '
            '(BaseEditModel)')
    multiple = _plain_multiple(model)

    def restore_plain(region: torch.Tensor, box: Box) -> torch.Tensor:
        padded, (h, w) = pad_to_multiple(region, multiple)
        return model.forward_tensor(padded)[..., :h, :w]

    return restore_plain, None, None


@torch.inference_mode()
def restore_image(model: nn.Module,
                  image: ImageInput,
                  tile: Union[int, str, None] = None,
                  tile_overlap: int = 32,
                  channel_order: str = 'rgb',
                  progress: Optional[ProgressFn] = None
                  ) -> RestorationResult:
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
        tile (int | str, optional): Tile size (>= 8) in pixels; None
            restores the whole image at once; 'auto' tiles large images
            (:func:`~sler_ir_mm.apis.tiling.auto_tile`). Default: None.
        tile_overlap (int): Overlap of neighbouring tiles, in
            [0, tile). Default: 32.
        channel_order (str): 'rgb' or 'bgr': the order of the color channels
            of an array input and of the returned image. Default: 'rgb'.
        progress (callable, optional): ``progress(done, total)`` after each
            restored tile, e.g. to drive a progress bar.

    Returns:
        RestorationResult: The uint8 image, in the input's layout, the
        route and what the model recognised (None for a model without
        routing). Under soft routing (stage 1) the route is each layer's
        most probable expert.

    Raises:
        ImageTooSmallError: A side of the image is below
            :data:`MIN_IMAGE_SIDE`.
    """
    check_channel_order(channel_order)
    if isinstance(tile, str) and tile != 'auto':
        raise ValueError(f"tile must be an int, None or 'auto', got {tile!r}")
    if tile is not None and tile != 'auto':
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
    split = split_image(image, channel_order, name)
    height, width = split.color.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise ImageTooSmallError(
            f'{name}: image is {width} x {height} pixels; the model needs '
            f'at least {MIN_IMAGE_SIDE} x {MIN_IMAGE_SIDE}')
    if tile == 'auto':
        tile = auto_tile(height, width)
        if tile is not None and not 0 <= tile_overlap < tile:
            raise ValueError(f'tile_overlap must be in [0, {tile}) (the '
                             f'automatic tile), got {tile_overlap}')

    device = _model_device(model)
    mean, std = _normalization(model, device)
    inputs = torch.from_numpy(split.color).permute(2, 0, 1)[None].to(device)
    inputs = (inputs - mean) / std
    restore, route, recognition = _plan(model, inputs)
    pred = restore_tiled(restore, inputs, tile, tile_overlap, progress)
    pred = (pred * std + mean)[0].permute(1, 2, 0).float().cpu().numpy()
    route = None if route is None else route.cpu().numpy().astype(np.int64)
    return RestorationResult(
        join_image(pred, split, channel_order), route, recognition)
