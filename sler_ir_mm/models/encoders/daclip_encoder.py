"""DA-CLIP ("Degraded CLIP"): a CLIP image tower steered by a controller.

Structure (read from DA-CLIP's released code, daclip_model.py and
transformer.py of github.com/Algolzw/daclip-uir; re-implemented here on
open_clip's VisionTransformer pieces):

* ``visual``: the CLIP image tower (frozen in DA-CLIP).
* ``controller``: a second tower of the same shape (its own conv1, class and
  positional embeddings, ln_pre, blocks, ln_post, proj); DA-CLIP initialises
  it as a copy of the CLIP tower.
* ``zero_linears``: one zero-initialised ``Linear(width, width)`` per
  controller block, applied to that block's output.
* The controller runs unchanged (the linears do not feed back into it); its
  pooled + projected CLS is the degradation embedding.
* The CLIP tower runs with controls: the OUTPUT of CLIP block ``i`` gets
  ``zero_linears[L-1-i](controller block L-1-i output)`` added (reverse
  order: the first CLIP block gets the last controller block's control, the
  last CLIP block the first one's, right before ln_post). Its pooled +
  projected CLS is the content embedding.
"""
from typing import Dict, Optional, Tuple

import torch.nn as nn
from mmagic.registry import MODELS
from torch import Tensor

from .clip_image_encoder import CLIPTowerEncoderBase, build_vit_tower
from .encoder_output import EncoderOutput

DACLIP_HINT = (
    'the DA-CLIP checkpoint `daclip_ViT-B-32.pt` (MIT licence; project '
    'https://github.com/Algolzw/daclip-uir, file '
    'https://huggingface.co/weblzw/daclip-uir-ViT-B-32-irsde/blob/main/'
    'daclip_ViT-B-32.pt)')

# DA-CLIP checkpoint key prefix -> our key prefix, first match wins.
# DA-CLIP's `DaCLIP` module holds `clip` (an open_clip CLIP: `clip.visual.*`,
# text tower `clip.transformer.*`, `clip.token_embedding.*`, ...), an alias
# `visual` of `clip.visual` (so its state dict repeats those tensors under
# `visual.*`), `visual_control` (deep copy of the visual tower whose
# `transformer` is wrapped in a `ControlTransformer`: the blocks under
# `transformer.transformer.resblocks.*`, the zero linears under
# `transformer.zero_modules.{i}.*`) and `logit_scale`.
DACLIP_KEY_MAP: Tuple[Tuple[str, str], ...] = (
    ('visual_control.transformer.zero_modules.', 'zero_linears.'),
    ('visual_control.transformer.transformer.', 'controller.transformer.'),
    ('visual_control.', 'controller.'),
    ('clip.visual.', 'visual.'),
)
# Duplicate of `clip.visual.*` in DaCLIP's state dict; used when the file has
# no `clip.visual.*` keys.
DACLIP_VISUAL_ALIAS = ('visual.', 'visual.')


@MODELS.register_module()
class DACLIPEncoder(CLIPTowerEncoderBase):
    """DA-CLIP image encoder: content and degradation embeddings in one pass.

    Images in [0, 1] of any size are resized to the tower's input size
    (bilinear, antialiased) and normalised with the OpenAI CLIP mean/std
    inside the model. ``forward`` returns the degradation side;
    ``forward_both`` returns (content, degradation) from a single run of each
    tower. See the module docstring for the structure and
    ``DACLIP_KEY_MAP`` for the checkpoint layout read (a DA-CLIP training
    checkpoint, possibly wrapped in ``{'state_dict': ...}`` and/or with a
    ``module.`` prefix; text keys are ignored).

    Args:
        model_name (str): open_clip model config name of the towers
            (DA-CLIP's ``daclip_ViT-B-32`` is open_clip's ``ViT-B-32`` with
            GELU). Default: 'ViT-B-32'.
        vision_cfg (dict, optional): Explicit ``CLIPVisionCfg`` fields; when
            given it replaces the named model's tower config.
        embed_dim (int, optional): Projection size; default: the named
            model's.
        checkpoint (str, optional): Local path of the DA-CLIP checkpoint.
        random_init (bool): Use random weights (tests, benchmarks): the
            controller starts as a copy of the CLIP tower and zero controls,
            as DA-CLIP initialises it. Default: False.
        frozen (bool): Freeze the CLIP (content) tower: no gradients and
            eval mode even while the model trains. Default: True.
        train_controller (bool): Let the controller and the zero linears
            train; False keeps them frozen and in eval mode like the CLIP
            tower (the paper uses DA-CLIP as a frozen extractor).
            Default: False.
        quick_gelu (bool, optional): Use QuickGELU; None: the named model
            config's value (DA-CLIP uses GELU). Default: None.
        config_key (str): Config key of ``checkpoint``, quoted in errors.
            Default: 'checkpoint'.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    provides_content: bool = True
    _weights_what: str = DACLIP_HINT
    _weights_note: str = ''

    def __init__(self,
                 model_name: str = 'ViT-B-32',
                 vision_cfg: Optional[dict] = None,
                 embed_dim: Optional[int] = None,
                 checkpoint: Optional[str] = None,
                 random_init: bool = False,
                 frozen: bool = True,
                 train_controller: bool = False,
                 quick_gelu: Optional[bool] = None,
                 config_key: str = 'checkpoint',
                 init_cfg: Optional[dict] = None) -> None:
        if not isinstance(train_controller, bool):
            raise TypeError(f'train_controller must be a bool, got '
                            f'{train_controller!r}')
        self.train_controller = train_controller
        super().__init__(
            model_name=model_name,
            vision_cfg=vision_cfg,
            embed_dim=embed_dim,
            checkpoint=checkpoint,
            random_init=random_init,
            frozen=frozen,
            quick_gelu=quick_gelu,
            config_key=config_key,
            init_cfg=init_cfg)

    def _build_modules(self, vision_cfg: dict, embed_dim: int,
                       quick_gelu: bool) -> None:
        self.controller = build_vit_tower(vision_cfg, embed_dim, quick_gelu)
        # DA-CLIP starts the controller as a copy of the CLIP tower.
        self.controller.load_state_dict(self.visual.state_dict())
        width = self.visual.transformer.width
        self.zero_linears = nn.ModuleList(
            nn.Linear(width, width)
            for _ in range(len(self.visual.transformer.resblocks)))
        for linear in self.zero_linears:
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)

    def _frozen_modules(self) -> Tuple[nn.Module, ...]:
        frozen = (self.visual, ) if self.frozen else ()
        if not self.train_controller:
            frozen = frozen + (self.controller, self.zero_linears)
        return frozen

    def _map_checkpoint(
            self, state: Dict[str, Tensor],
            path: str) -> Tuple[Dict[str, Tensor], Tuple[str, ...]]:
        if not any(k.startswith('visual_control.') for k in state):
            raise ValueError(
                f'`{self.config_key}`: checkpoint {path!r} has no '
                f'`visual_control.*` keys, so it is not a DA-CLIP checkpoint '
                f'(a plain CLIP checkpoint goes to CLIPImageEncoder)')
        table = DACLIP_KEY_MAP
        if not any(k.startswith('clip.visual.') for k in state):
            table = table + (DACLIP_VISUAL_ALIAS, )
        mapped: Dict[str, Tensor] = {}
        for key, value in state.items():
            for src, dst in table:
                if key.startswith(src):
                    mapped[dst + key[len(src):]] = value
                    break
        return mapped, ()

    def forward_both_preprocessed(
            self,
            views: Tensor,
            num_content: Optional[int] = None
    ) -> Tuple[EncoderOutput, EncoderOutput]:
        """Run the controller once and the controlled CLIP tower once.

        Args:
            views (Tensor): (B, 3, S_h, S_w) views from :meth:`preprocess`.
            num_content (int, optional): Only the first ``num_content``
                views need the content side (e.g. the whole images, not
                GLGF's crops or the routing tiles): the controlled tower
                runs on those alone. The controller does not depend on it,
                so the degradation side is the same. Default: all views.

        Returns:
            tuple[EncoderOutput, EncoderOutput]: (content, degradation):
            content ``cls`` (N, embed_dim) and ``tokens``
            (N, grid_h * grid_w, token_dim) for the first N =
            ``num_content`` views, degradation the same for all B views.
        """
        self._check_views(views)
        num = views.shape[0] if num_content is None else num_content
        ctrl_blocks = self.controller.transformer.resblocks
        main_blocks = self.visual.transformer.resblocks
        batch_first = getattr(self.visual.transformer, 'batch_first', True)

        c = self.controller._embeds(views)
        if not batch_first:
            c = c.transpose(0, 1)
        controls = []
        for block, linear in zip(ctrl_blocks, self.zero_linears):
            c = block(c)
            # Controls only for the views the controlled tower runs on.
            controls.append(linear(c[:num] if batch_first else c[:, :num]))
        if not batch_first:
            c = c.transpose(0, 1)
        degradation = self._run_tower_tail(self.controller, c)

        x = self.visual._embeds(views[:num])
        if not batch_first:
            x = x.transpose(0, 1)
        for block in main_blocks:
            x = block(x) + controls.pop()  # reverse order, see module doc
        if not batch_first:
            x = x.transpose(0, 1)
        content = self._run_tower_tail(self.visual, x)
        return content, degradation

    def forward_both(self, img: Tensor) -> Tuple[EncoderOutput, EncoderOutput]:
        """Args:
            img (Tensor): (B, 3, H, W) images in [0, 1], any H, W.

        Returns:
            tuple[EncoderOutput, EncoderOutput]: (content, degradation).
        """
        return self.forward_both_preprocessed(self.preprocess(img))

    def forward_preprocessed(self, views: Tensor) -> EncoderOutput:
        """Degradation embedding of preprocessed views (controller only).

        Args:
            views (Tensor): (B, 3, S_h, S_w) views from :meth:`preprocess`.

        Returns:
            EncoderOutput: degradation ``cls`` (B, embed_dim) and the
            controller's ``tokens`` (B, grid_h * grid_w, token_dim).
        """
        self._check_views(views)
        pooled, tokens = self.controller(views)
        return EncoderOutput(pooled, tokens)
