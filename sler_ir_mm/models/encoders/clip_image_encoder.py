"""Frozen open_clip image towers used as SLER-IR's content/degradation CLIP.

open_clip is imported lazily (inside the functions that need it) so that
``import sler_ir_mm`` stays fast; it is only needed once an encoder is built.
Nothing here downloads anything: weights come from a local file named in the
config, or ``random_init=True`` opts in to random weights.
"""
import os.path as osp
import warnings
from typing import Any, Dict, Mapping, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmagic.registry import MODELS
from torch import Tensor

from .base_view_encoder import BaseViewEncoder
from .encoder_output import EncoderOutput

# Where to get weights, quoted in the "missing checkpoint" errors.
OPENAI_VIT_B_32_HINT = (
    'the OpenAI CLIP ViT-B-32 weights, i.e. open_clip\'s `ViT-B-32` '
    '`openai` weights (e.g. there, run `open_clip.create_model("ViT-B-32", '
    'pretrained=TAG, cache_dir=DIR)` with TAG "openai" and take the file '
    'from DIR, '
    'or fetch https://openaipublic.azureedge.net/clip/models/40d365715913c9'
    'da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt)')
OPENAI_QUICK_GELU_NOTE = (
    ' OpenAI weights need QuickGELU: set quick_gelu=True or '
    'model_name="ViT-B-32-quickgelu" (automatic for OpenAI\'s original '
    'TorchScript .pt archive).')


def _weights_hint(config_key: str, what: str) -> str:
    return (f'Nothing is downloaded at run time. On a machine with internet '
            f'access download {what}, copy the file to this machine and put '
            f'its local path in the config as `{config_key}` (or set '
            f'random_init=True to use random weights, for tests and '
            f'benchmarks only).')


def read_clip_state_dict(path: Optional[str],
                         config_key: str,
                         what: str,
                         note: str = '') -> Tuple[Dict[str, Tensor], bool]:
    """Read a CLIP checkpoint file into a flat ``{key: tensor}`` dict.

    Accepted: a state dict saved with ``torch.save`` (possibly wrapped in
    ``{'state_dict': ...}`` as open_clip training checkpoints are, possibly
    with DDP's ``module.`` prefix), a ``.safetensors`` file, or OpenAI's
    original TorchScript ``.pt`` archive (read with ``torch.jit.load`` on the
    CPU, only its state dict is used). Pickles are read with
    ``weights_only=True``.

    Args:
        path (str, optional): Local file path.
        config_key (str): Config key the path came from (used in errors).
        what (str): Which weights, and where to get them (used in errors).
        note (str): Extra sentence for the "missing file" errors.

    Returns:
        tuple[dict, bool]: The state dict and whether the file was a
        TorchScript archive (OpenAI's original release, QuickGELU weights).
    """
    # Imported here: the rest of this module needs no checkpoint code.
    from sler_ir_mm.utils.checkpoint_io import (load_checkpoint_file,
                                                unwrap_state_dict)
    if path is None:
        raise ValueError(f'`{config_key}` is not set: the encoder needs a '
                         f'local checkpoint file. ' +
                         _weights_hint(config_key, what) + note)
    if not isinstance(path, str) or not path:
        raise TypeError(f'`{config_key}` must be a file path (str), got '
                        f'{path!r}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'`{config_key}`: checkpoint file {path!r} does not exist. ' +
            _weights_hint(config_key, what) + note)
    is_jit = False
    obj: Any
    if path.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
            obj = load_file(path, device='cpu')
        except Exception as err:  # noqa: BLE001
            raise ValueError(f'`{config_key}`: cannot read checkpoint file '
                             f'{path!r} as safetensors: {err}') from None
    else:
        try:
            obj = load_checkpoint_file(path, weights_only=True)
        except Exception as err:  # noqa: BLE001
            load_err = getattr(err, 'reason', err)  # torch.load's own error
            try:
                with warnings.catch_warnings():  # jit.load is deprecated
                    warnings.simplefilter('ignore', FutureWarning)
                    obj = torch.jit.load(path, map_location='cpu')
                obj = obj.state_dict()
                is_jit = True
            except Exception as jit_err:  # noqa: BLE001
                raise ValueError(
                    f'`{config_key}`: cannot read checkpoint file {path!r} '
                    f'(corrupted or not a PyTorch checkpoint?). '
                    f'torch.load(weights_only=True) said: {load_err}; '
                    f'torch.jit.load said: {jit_err}. If it is a trusted '
                    f'file holding extra pickled objects, re-save its state '
                    f'dict with torch.save.') from None
    if not isinstance(obj, Mapping):
        raise ValueError(f'`{config_key}`: checkpoint file {path!r} holds a '
                         f'{type(obj).__name__}, not a state dict')
    # open_clip training checkpoints: {'state_dict': {'module.<key>': ...}}.
    state = unwrap_state_dict(
        obj, keys=('state_dict', ), strip_prefixes=('module.', ),
        nested=True, tensors_only=True)
    if not state:
        raise ValueError(f'`{config_key}`: checkpoint file {path!r} holds no '
                         f'tensors')
    return state, is_jit


def check_and_load(module: nn.Module,
                   state: Dict[str, Tensor],
                   path: str,
                   config_key: str,
                   unexpected: Tuple[str, ...] = ()) -> None:
    """Strictly load ``state`` (keys relative to ``module``) with clear errors.

    Args:
        module (nn.Module): Module to fill.
        state (dict): Mapped state dict.
        path (str): Source file (used in errors).
        config_key (str): Config key of the file (used in errors).
        unexpected (tuple[str]): Source keys that matched a tower prefix but
            no parameter; reported with the missing keys.
    """
    own = module.state_dict()
    missing = sorted(k for k in own if k not in state)
    extra = sorted(set(unexpected) | {k for k in state if k not in own})
    bad_shape = sorted(f'{k}: file {tuple(v.shape)} vs model '
                       f'{tuple(own[k].shape)}' for k, v in state.items()
                       if k in own and v.shape != own[k].shape)
    if missing or extra or bad_shape:

        def _short(items):
            return (', '.join(items[:8]) +
                    (f' ... ({len(items)} in all)' if len(items) > 8 else ''))

        parts = []
        if missing:
            parts.append(f'missing keys: {_short(missing)}')
        if extra:
            parts.append(f'unknown keys: {_short(extra)}')
        if bad_shape:
            parts.append(f'shape mismatches: {_short(bad_shape)}')
        raise ValueError(
            f'`{config_key}`: checkpoint {path!r} does not match the '
            f'{type(module).__name__} tower built from model_name/vision_cfg/'
            f'embed_dim ({"; ".join(parts)}). Check that the config names '
            f'the architecture the weights were trained with.')
    module.load_state_dict(state, strict=True)


def _resolve_tower_cfg(model_name: str, vision_cfg: Optional[dict],
                       embed_dim: Optional[int],
                       quick_gelu: Optional[bool]) -> Tuple[dict, int, bool]:
    """Return (vision_cfg, embed_dim, quick_gelu) from the named model and the
    explicit overrides."""
    from open_clip import get_model_config
    if not isinstance(model_name, str) or not model_name:
        raise TypeError(f'model_name must be a non-empty str, got '
                        f'{model_name!r}')
    named = get_model_config(model_name)
    if named is None and (vision_cfg is None or embed_dim is None):
        raise ValueError(f'Unknown open_clip model_name {model_name!r} (see '
                         f'open_clip.list_models()); or give both vision_cfg '
                         f'and embed_dim explicitly')
    named = named or {}
    if vision_cfg is None:
        cfg = dict(named['vision_cfg'])
    elif isinstance(vision_cfg, Mapping):
        cfg = dict(vision_cfg)
    else:
        raise TypeError(f'vision_cfg must be a dict or None, got '
                        f'{type(vision_cfg).__name__}')
    if embed_dim is None:
        embed_dim = named['embed_dim']
    if not isinstance(embed_dim, int) or embed_dim < 1:
        raise ValueError(f'embed_dim must be a positive int, got '
                         f'{embed_dim!r}')
    if quick_gelu is None:
        quick_gelu = bool(named.get('quick_gelu', False))
    for key, bad in (('timm_model_name', None), ('attentional_pool', False)):
        if cfg.get(key, bad) not in (bad, ''):
            raise ValueError(f'vision_cfg.{key} is not supported: only plain '
                             f'open_clip ViT towers are')
    if not isinstance(cfg.get('layers', 12), int):
        raise ValueError('vision_cfg.layers must be an int: ResNet towers are '
                         'not supported, only ViT towers')
    if cfg.get('pool_type', 'tok') not in ('tok', 'avg'):
        raise ValueError(f'vision_cfg.pool_type must be "tok" or "avg", got '
                         f'{cfg["pool_type"]!r}')
    if cfg.get('patch_dropout', 0.):
        raise ValueError('vision_cfg.patch_dropout must be 0: every patch '
                         'token is used')
    cfg['output_tokens'] = True
    return cfg, embed_dim, quick_gelu


def build_vit_tower(vision_cfg: dict, embed_dim: int,
                    quick_gelu: bool) -> nn.Module:
    """Build an fp32 open_clip ``VisionTransformer`` with output_tokens."""
    from open_clip.model import CLIPVisionCfg, _build_vision_tower
    from open_clip.transformer import VisionTransformer
    try:
        cfg = CLIPVisionCfg(**vision_cfg)
    except TypeError as err:
        raise ValueError(f'invalid vision_cfg {vision_cfg}: {err}') from None
    tower = _build_vision_tower(embed_dim, cfg, quick_gelu=quick_gelu)
    if not isinstance(tower, VisionTransformer):
        raise ValueError(f'vision_cfg built a {type(tower).__name__}, only '
                         f'open_clip VisionTransformer towers are supported')
    for name in ('_embeds', '_pool', '_global_pool'):
        if not hasattr(tower, name):
            raise RuntimeError(f'the installed open_clip VisionTransformer '
                               f'has no {name}(); open_clip >= 2.24 needed')
    return tower


class CLIPTowerEncoderBase(BaseViewEncoder):
    """Shared parts of the CLIP encoders: tower config, preprocessing,
    checkpoint reading and freezing. Subclasses build their modules in
    :meth:`_build_modules`, map a checkpoint in :meth:`_map_checkpoint` and
    implement :meth:`forward_preprocessed`.

    Args: see :class:`CLIPImageEncoder`.
    """

    #: What to download, quoted in the "missing checkpoint" errors.
    _weights_what: str = OPENAI_VIT_B_32_HINT
    _weights_note: str = OPENAI_QUICK_GELU_NOTE

    def __init__(self,
                 model_name: str = 'ViT-B-32',
                 vision_cfg: Optional[dict] = None,
                 embed_dim: Optional[int] = None,
                 checkpoint: Optional[str] = None,
                 random_init: bool = False,
                 frozen: bool = True,
                 quick_gelu: Optional[bool] = None,
                 config_key: str = 'checkpoint',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(config_key, str) or not config_key:
            raise TypeError(f'config_key must be a non-empty str, got '
                            f'{config_key!r}')
        for name, flag in (('random_init', random_init), ('frozen', frozen)):
            if not isinstance(flag, bool):
                raise TypeError(f'{name} must be a bool, got {flag!r}')
        if quick_gelu is not None and not isinstance(quick_gelu, bool):
            raise TypeError(f'quick_gelu must be a bool or None, got '
                            f'{quick_gelu!r}')
        self.config_key = config_key
        self.random_init = random_init
        self.frozen = frozen

        state: Optional[Dict[str, Tensor]] = None
        if random_init:
            if checkpoint is not None:
                print_log(
                    f'{type(self).__name__}: random_init=True, ignoring '
                    f'`{config_key}`={checkpoint!r}', 'current')
            checkpoint = None
        else:
            state, is_jit = read_clip_state_dict(checkpoint, config_key,
                                                 self._weights_what,
                                                 self._weights_note)
            if quick_gelu is None and is_jit:
                quick_gelu = True  # OpenAI's JIT release: QuickGELU weights
        self.checkpoint = checkpoint

        cfg, embed_dim, quick_gelu = _resolve_tower_cfg(
            model_name, vision_cfg, embed_dim, quick_gelu)
        self.model_name = model_name
        self.quick_gelu = quick_gelu
        self.visual = build_vit_tower(cfg, embed_dim, quick_gelu)
        self._build_modules(cfg, embed_dim, quick_gelu)

        self.embed_dim: int = embed_dim
        self.token_dim: int = self.visual.transformer.width
        self.image_size: Tuple[int, int] = tuple(self.visual.image_size)
        self.grid_size: Tuple[int, int] = tuple(self.visual.grid_size)
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
        self.register_buffer(
            'pixel_mean',
            torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1),
            persistent=False)
        self.register_buffer(
            'pixel_std',
            torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1),
            persistent=False)

        if state is not None:
            self._load_state(state, checkpoint)
        self._apply_freezing()
        self.train(self.training)

    # -- hooks for subclasses -------------------------------------------
    def _build_modules(self, vision_cfg: dict, embed_dim: int,
                       quick_gelu: bool) -> None:
        """Build modules beside ``self.visual`` (none here)."""

    def _map_checkpoint(
            self, state: Dict[str, Tensor],
            path: str) -> Tuple[Dict[str, Tensor], Tuple[str, ...]]:
        """Map a file's keys to this module's keys.

        Returns:
            tuple[dict, tuple[str]]: Mapped state, and the file's keys that
            look like tower keys but map to nothing.
        """
        raise NotImplementedError

    def _frozen_modules(self) -> Tuple[nn.Module, ...]:
        """Modules that get no gradient and always run in eval mode."""
        return (self.visual, ) if self.frozen else ()

    # -- weights ----------------------------------------------------------
    def _load_state(self, state: Dict[str, Tensor], path: str) -> None:
        mapped, unexpected = self._map_checkpoint(state, path)
        check_and_load(self, mapped, path, self.config_key, unexpected)
        print_log(
            f'{type(self).__name__}: loaded `{self.config_key}` from '
            f'{path}', 'current')

    def init_weights(self) -> None:
        """Re-load the checkpoint after any parent ``init_cfg`` ran.

        A parent's ``init_cfg`` (e.g. Kaiming on all ``Conv2d``) reaches the
        CLIP layers too; reloading here undoes that.
        """
        super().init_weights()
        if self.checkpoint is not None:
            state, _ = read_clip_state_dict(self.checkpoint, self.config_key,
                                            self._weights_what,
                                            self._weights_note)
            self._load_state(state, self.checkpoint)

    def _apply_freezing(self) -> None:
        for module in self._frozen_modules():
            for param in module.parameters():
                param.requires_grad_(False)

    def train(self, mode: bool = True) -> 'CLIPTowerEncoderBase':
        """Set train mode; frozen towers always stay in eval mode."""
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()
        return self

    # -- preprocessing -------------------------------------------------------
    def preprocess(self, img: Tensor) -> Tensor:
        """Resize images in [0, 1] to the tower's input size and normalise.

        Bilinear resize (antialias=True, align_corners=False), then the
        OpenAI CLIP mean/std. Any input size works.

        Args:
            img (Tensor): (B, 3, H, W) float images in [0, 1].

        Returns:
            Tensor: (B, 3, S_h, S_w) views ready for
            :meth:`forward_preprocessed`.
        """
        if not isinstance(img, Tensor) or img.dim() != 4 or img.shape[1] != 3:
            raise ValueError(f'expected (B, 3, H, W) images, got '
                             f'{getattr(img, "shape", type(img))}')
        if not img.is_floating_point():
            raise TypeError(f'expected float images in [0, 1], got '
                            f'{img.dtype}')
        if tuple(img.shape[-2:]) != self.image_size:
            img = F.interpolate(
                img,
                size=self.image_size,
                mode='bilinear',
                align_corners=False,
                antialias=True)
        mean = self.pixel_mean.to(img.dtype)
        std = self.pixel_std.to(img.dtype)
        return (img - mean) / std

    def _check_views(self, views: Tensor) -> None:
        if (not isinstance(views, Tensor) or views.dim() != 4
                or views.shape[1] != 3
                or tuple(views.shape[-2:]) != self.image_size):
            raise ValueError(
                f'expected preprocessed views of shape (B, 3, '
                f'{self.image_size[0]}, {self.image_size[1]}), got '
                f'{getattr(views, "shape", type(views))}; call preprocess() '
                f'first')

    def _run_tower_tail(self, tower: nn.Module, x: Tensor) -> EncoderOutput:
        """ln_post + pooling + projection, as open_clip does it."""
        pooled, tokens = tower._pool(x)
        if tower.proj is not None:
            pooled = pooled @ tower.proj
        return EncoderOutput(pooled, tokens)

    def extra_repr(self) -> str:
        return (f'model_name={self.model_name!r}, image_size='
                f'{self.image_size}, grid_size={self.grid_size}, embed_dim='
                f'{self.embed_dim}, token_dim={self.token_dim}, frozen='
                f'{self.frozen}, checkpoint={self.checkpoint!r}')


@MODELS.register_module()
class CLIPImageEncoder(CLIPTowerEncoderBase):
    """A (frozen) open_clip ViT image tower: images -> CLS + patch tokens.

    Images in [0, 1] of any size are resized to the tower's input size
    (bilinear, antialiased) and normalised with the OpenAI CLIP mean/std
    inside the model. Weights come from a LOCAL file (nothing is
    downloaded); ``random_init=True`` opts in to random weights.

    Checkpoint layouts read: a full OpenAI/OpenCLIP CLIP state dict with
    ``visual.*`` keys (text keys are ignored), possibly wrapped in
    ``{'state_dict': ...}`` and/or with DDP's ``module.`` prefix, as a
    ``torch.save`` pickle or ``.safetensors``; or OpenAI's original
    TorchScript ``.pt`` archive (read with ``torch.jit.load`` on the CPU,
    which also selects QuickGELU when ``quick_gelu`` is None).

    Args:
        model_name (str): open_clip model config name. Default: 'ViT-B-32'.
        vision_cfg (dict, optional): Explicit ``CLIPVisionCfg`` fields; when
            given it replaces the named model's tower config.
        embed_dim (int, optional): Projection size; default: the named
            model's.
        checkpoint (str, optional): Local path of the CLIP weights.
        random_init (bool): Use random weights (tests, benchmarks); the
            checkpoint is then ignored. Default: False.
        frozen (bool): No gradients to the tower and eval mode even while
            the model trains. Default: True.
        quick_gelu (bool, optional): Use QuickGELU (OpenAI weights and
            ``-quickgelu`` models). None: the named model config's value, or
            True for an OpenAI TorchScript archive. Default: None.
        config_key (str): Config key of ``checkpoint``, quoted in errors.
            Default: 'checkpoint'.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    provides_content: bool = False

    def _map_checkpoint(
            self, state: Dict[str, Tensor],
            path: str) -> Tuple[Dict[str, Tensor], Tuple[str, ...]]:
        mapped = {k: v for k, v in state.items() if k.startswith('visual.')}
        if not mapped:
            raise ValueError(
                f'`{self.config_key}`: checkpoint {path!r} has no `visual.*` '
                f'keys; expected a full CLIP state dict (e.g. '
                f'{sorted(state)[:3]} found)')
        return mapped, ()

    def forward_preprocessed(self, views: Tensor) -> EncoderOutput:
        """Encode views already resized and normalised by :meth:`preprocess`.

        Args:
            views (Tensor): (B, 3, S_h, S_w) at the tower's image size.

        Returns:
            EncoderOutput: ``cls`` (B, embed_dim), ``tokens``
            (B, grid_h * grid_w, token_dim).
        """
        self._check_views(views)
        pooled, tokens = self.visual(views)
        return EncoderOutput(pooled, tokens)
