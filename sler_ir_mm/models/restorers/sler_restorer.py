"""SLER-IR: an expert-routed Restormer trained in two stages."""
import inspect
import math
import numbers
from typing import Dict, List, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from mmagic.models.base_models import BaseEditModel
from mmagic.registry import MODELS
from mmagic.structures import DataSample

from sler_ir_mm.utils import check_int

STAGE_PROBABILISTIC = 1
STAGE_DETERMINISTIC = 2


Box = Tuple[int, int, int, int]


class EncodedBatch(NamedTuple):
    """What the encoders (and GLGF) give the router and the backbone.

    Attributes:
        degradation_cls (Tensor): (B, D) degradation embedding of each whole
            image.
        prior (Tensor | None): (B, N, P) GLGF restoration prior tokens.
        grid_hw (tuple | None): The prior's patch grid (h, w).
        routing_cls (Tensor | None): (B * T, D) degradation embeddings the
            router reads, image-major: the T routing tiles of each image
            (see ``SLERRestorer.route_tile_size``); None: the whole images'
            ``degradation_cls`` (T = 1).
        num_tiles (int): Routing tiles T per image.
    """
    degradation_cls: torch.Tensor
    prior: Optional[torch.Tensor] = None
    grid_hw: Optional[Tuple[int, int]] = None
    routing_cls: Optional[torch.Tensor] = None
    num_tiles: int = 1

    @property
    def router_input(self) -> torch.Tensor:
        """(B * T, D): what the router reads."""
        return self.degradation_cls if self.routing_cls is None else \
            self.routing_cls


def routing_tile_boxes(height: int, width: int, tile_size: Optional[int],
                       max_tiles_per_side: int) -> Optional[List[Box]]:
    """Where an image is cut into routing tiles of the training scale.

    Tiles are ``tile_size`` pixels (the training patch size) so that the
    degradation encoder sees a test image at the scale it saw training
    patches: resizing a whole 4x larger image into the encoder's view would
    average sigma-25 noise down to about sigma 6, shorten blur and thin
    rain. At most ``max_tiles_per_side`` tiles per side, evenly spread and
    overlapping where needed to cover the side (larger images are sampled
    on that grid).

    Args:
        height (int): Image height.
        width (int): Image width.
        tile_size (int, optional): Tile side; None routes on the whole
            image.
        max_tiles_per_side (int): Most tiles along one side.

    Returns:
        list[tuple] | None: ``(top, left, h, w)`` per tile, row-major; None
        when the image fits in one tile (route on the whole image).
    """
    if tile_size is None or (height <= tile_size and width <= tile_size):
        return None
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)

    def starts(size: int, tile: int) -> List[int]:
        count = min(math.ceil(size / tile), max_tiles_per_side)
        if count == 1:
            return [(size - tile) // 2]
        return [round(i * (size - tile) / (count - 1)) for i in range(count)]

    return [(top, left, tile_h, tile_w) for top in starts(height, tile_h)
            for left in starts(width, tile_w)]


def _resize(img: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    return F.interpolate(
        img, size=size, mode='bilinear', align_corners=False, antialias=True)


def encoder_views(img: torch.Tensor,
                  size: Tuple[int, int],
                  crop_grid: int = 0,
                  tile_boxes: Optional[List[Box]] = None,
                  whole: bool = True) -> torch.Tensor:
    """All encoder views of a batch, each kind made with one resize.

    Args:
        img (Tensor): (B, 3, H, W) images in [0, 1], any size.
        size (tuple[int, int]): The encoder's input size (S_h, S_w).
        crop_grid (int): If > 0, also cut each image into a fixed
            ``crop_grid x crop_grid`` grid of crops (row-major).
        tile_boxes (list[tuple], optional): Routing tiles
            (:func:`routing_tile_boxes`), cut at full resolution and each
            resized to the view size.
        whole (bool): Include the whole images. Default: True.

    Returns:
        Tensor: (B + B * crop_grid**2 + B * T, 3, S_h, S_w): the B whole
        images, then the crops of image 0, image 1, ..., then the T tiles of
        image 0, image 1, ... Each crop is resized to the view size by
        resizing the whole image to ``crop_grid * size`` once and splitting
        it, which for bilinear resampling equals resizing each crop apart up
        to the pixels along crop borders, and keeps the batch free of
        per-crop Python loops.
    """
    parts = [_resize(img, size)] if whole else []
    if tile_boxes:
        tiles = torch.stack([
            img[..., top:top + h, left:left + w]
            for top, left, h, w in tile_boxes
        ], dim=1)
        parts.append(_resize(tiles.flatten(0, 1), size))
    if crop_grid <= 0:
        return torch.cat(parts) if len(parts) > 1 else parts[0]
    b, c = img.shape[:2]
    sh, sw = size
    big = F.interpolate(
        img,
        size=(crop_grid * sh, crop_grid * sw),
        mode='bilinear',
        align_corners=False,
        antialias=True)
    crops = big.view(b, c, crop_grid, sh, crop_grid, sw).permute(
        0, 2, 4, 1, 3, 5).reshape(b * crop_grid * crop_grid, c, sh, sw)
    parts.insert(1 if whole else 0, crops)
    return torch.cat(parts, dim=0)


def pad_to_multiple(img: torch.Tensor,
                    multiple: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Pad the bottom/right of ``img`` to H, W multiples of ``multiple``.

    Reflection padding, like Restormer's own, where the image is large enough
    for it; images smaller than the padding (e.g. 3 x 3) are padded by edge
    replication instead, so any size works.

    Returns:
        tuple: The padded image and the original (H, W).
    """
    h, w = img.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h == 0 and pad_w == 0:
        return img, (h, w)
    mode = 'reflect' if pad_h < h and pad_w < w else 'replicate'
    return F.pad(img, (0, pad_w, 0, pad_h), mode=mode), (h, w)


def _with_config_key(cfg: dict, name: str) -> dict:
    """Let a weight-loading encoder name its config key in errors."""
    cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) \
        else cfg['type']
    target = cls.__init__ if inspect.isclass(cls) else cls
    if cls is not None and 'config_key' in inspect.signature(
            target).parameters:
        cfg = dict(cfg)
        cfg.setdefault('config_key', f'model.{name}.checkpoint')
    return cfg


@MODELS.register_module()
class SLERRestorer(BaseEditModel):
    """Spherical Layer-wise Expert Routing restorer (SLER-IR).

    A degradation encoder embeds the input image, the router maps that
    embedding to one routing vector per backbone layer on the unit sphere and
    picks each layer's expert by cosine similarity to the expert centers, and
    the expert backbone (``SLERNet``) restores the image along that route.
    With GLGF, the content encoder's CLS and patch tokens of the whole image
    and the degradation encoder's CLS of a fixed 4 x 4 grid of crops make a
    restoration prior that is injected into the backbone's routed layers.
    All views of a batch (whole images and crops) go through each encoder
    in one call, and an encoder that serves both sides (DA-CLIP, or one CLIP
    tower when ``content_encoder`` is None) runs once per view.

    Stage 1 (probabilistic routing): every layer mixes its experts with the
    router's probabilities (only each sample's arg-max expert gets parameter
    gradients); the loss is ``L1 + alpha * L_HC`` and the expert centers are
    updated by the router's balanced spherical clustering.
    Stage 2 (deterministic routing): the routing path (encoder, router MLP,
    centers) is frozen, each layer runs only its arg-max expert, the loss is
    L1. ``RoutingStageSwitchHook`` switches stages during training; the
    current stage is a buffer, so checkpoints carry it.

    With ``ClassifierRouter`` (the paper's classification-based routing
    baseline, Table 3) the router classifies the degradation and a fixed
    table maps each class to a route; stage 1 trains it with L1 alone or
    with ``L1 + L_cls`` (``classification_loss``), and stage 2 freezes it
    in the same way.

    Args:
        generator (dict): The expert backbone, e.g. ``dict(type='SLERNet')``.
        router (dict): The router, e.g. ``dict(type='SphericalRouter')`` or
            ``dict(type='ClassifierRouter', num_classes=5)``.
            ``in_channels``, ``num_layers`` and ``num_experts`` are filled in
            from the encoder and the backbone when not given;
            ``num_classes`` is not.
        degradation_encoder (dict): Encoder with the view interface
            (``preprocess``, ``forward_preprocessed`` -> ``(cls, tokens)``,
            ``image_size``, ``embed_dim``): ``CLIPImageEncoder``,
            ``DACLIPEncoder`` or ``ConvDegradationEncoder``. The CLS of the
            whole image feeds the router.
        content_encoder (dict, optional): The content CLIP for GLGF. None
            takes the content side from the degradation encoder: DA-CLIP's
            content output, or the same tower's output for a plain encoder.
        glgf (dict, optional): The GLGF neck, e.g. ``dict(type='GLGF')``;
            its input dims and ``layer_channels`` are filled in from the
            encoders and the backbone. None: no GLGF.
        with_glgf (bool): False builds no GLGF even if ``glgf`` is given
            (the paper's "w/o GLGF" ablation). Default: True.
        pixel_loss (dict): Restoration loss, e.g. ``dict(type='L1Loss')``.
        contrastive_loss (dict, optional): Loss on the routing embeddings
            and degradation labels, e.g.
            ``dict(type='HypersphericalContrastiveLoss', loss_weight=1.0)``
            (its ``loss_weight`` is alpha). None trains stage 1 without it.
            Needs a spherical router (not ``ClassifierRouter``).
        classification_loss (dict, optional): Loss on a classifier router's
            class logits and the degradation labels, e.g.
            ``dict(type='DegradationClassificationLoss', loss_weight=1.0)``
            (the paper's L_cls). Needs a router with ``num_classes`` and
            integer class ids as labels. None: no classification loss.
        label_key (str): Metainfo key of each training sample's degradation
            label: an int or a task name for ``contrastive_loss``, an int
            class id (e.g. ``sler_ir_mm.datasets.layouts.TASK_LABELS``) for
            ``classification_loss``. Default: 'degradation_label'.
        stage (int): Stage to start in, 1 or 2. Default: 1.
        pad_multiple (int): Inputs are padded to a multiple of this and the
            output cropped back. Default: 8 (three 2x downsamplings).
        route_tile_size (int, optional): Route an image larger than this on
            tiles of this many pixels (set it to the training patch size)
            instead of on the whole image resized into the encoder's view:
            the router then sees test images at the scale of its training
            patches. Each tile is encoded and routed, and the image takes
            the route of the tiles' mean expert probabilities
            (``router.aggregate_tiles``). None routes on the whole image,
            the paper's literal reading. Default: None.
        route_max_tiles_per_side (int): Most routing tiles along one side
            of an image; larger images are sampled on that grid, evenly
            spread. Each tile is one more view through the degradation
            encoder (GLGF already runs 17 per image), so the default keeps
            it to 2 x 2 = 4 tiles. Default: 2.
        train_cfg (dict, optional): Unused, kept for MMagic's interface.
        test_cfg (dict, optional): ``routing='auto'|'hard'|'soft'``: how
            validation/test/inference routes; 'auto' (default) uses soft
            routing in stage 1 and hard routing in stage 2.
        init_cfg (dict, optional): Initialization config.
        data_preprocessor (dict, optional): MMagic ``DataPreprocessor``;
            it must map images to [0, 1] (mean 0, std 255).
    """

    def __init__(self,
                 generator: dict,
                 router: dict,
                 degradation_encoder: dict,
                 pixel_loss: dict,
                 contrastive_loss: Optional[dict] = None,
                 classification_loss: Optional[dict] = None,
                 content_encoder: Optional[dict] = None,
                 glgf: Optional[dict] = None,
                 with_glgf: bool = True,
                 label_key: str = 'degradation_label',
                 stage: int = STAGE_PROBABILISTIC,
                 pad_multiple: int = 8,
                 route_tile_size: Optional[int] = None,
                 route_max_tiles_per_side: int = 2,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(
            generator=generator,
            pixel_loss=pixel_loss,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
            data_preprocessor=data_preprocessor)
        if stage not in (STAGE_PROBABILISTIC, STAGE_DETERMINISTIC):
            raise ValueError(f'stage must be 1 or 2, got {stage}')
        if pad_multiple < 1:
            raise ValueError(f'pad_multiple must be >= 1, got {pad_multiple}')
        if route_tile_size is not None:
            check_int('route_tile_size', route_tile_size)
        check_int('route_max_tiles_per_side', route_max_tiles_per_side)
        routing = (test_cfg or {}).get('routing', 'auto')
        if routing not in ('auto', 'hard', 'soft'):
            raise ValueError(f"test_cfg.routing must be 'auto', 'hard' or "
                             f"'soft', got {routing!r}")
        self.test_routing = routing
        self.label_key = label_key
        self.pad_multiple = pad_multiple
        self.route_tile_size = route_tile_size
        self.route_max_tiles_per_side = route_max_tiles_per_side

        self.degradation_encoder = MODELS.build(
            _with_config_key(degradation_encoder, 'degradation_encoder'))
        self.content_encoder = None
        self.glgf = None
        if glgf is not None and with_glgf:
            if content_encoder is not None:
                self.content_encoder = MODELS.build(
                    _with_config_key(content_encoder, 'content_encoder'))
            self.glgf = MODELS.build(self._fill_glgf_cfg(glgf))
        router = dict(router)
        for key, value, source in (
            ('in_channels', self.degradation_encoder.embed_dim,
             "the degradation encoder's embed_dim"),
            ('num_layers', self.generator.num_routed_layers,
             "the backbone's number of routed layers"),
            ('num_experts', self.generator.num_experts,
             "the backbone's num_experts (model.generator.num_experts)"),
        ):
            if router.setdefault(key, value) != value:
                fix = (f'; to train {router[key]} experts per layer set '
                       f'model.generator.num_experts={router[key]}'
                       if key == 'num_experts' else '')
                raise ValueError(
                    f'model.router.{key}={router[key]} does not match '
                    f'{source}, {value}: leave router.{key} out of the '
                    f'config (it is filled in from there){fix}')
        self.router = MODELS.build(router)
        # A classifier router is recognised by its classes: it has no
        # spherical embeddings for L_HC, and only it has logits for L_cls.
        classifies = hasattr(self.router, 'num_classes')
        if contrastive_loss and classifies:
            raise ValueError(
                'contrastive_loss is defined on spherical routing embeddings'
                f' and cannot train {type(self.router).__name__}: set '
                'contrastive_loss=None (use classification_loss for label '
                'supervision)')
        if classification_loss and not classifies:
            raise ValueError(
                'classification_loss needs a router that classifies the '
                'degradation (one with num_classes, e.g. ClassifierRouter); '
                f'{type(self.router).__name__} has none')
        self.contrastive_loss = (
            MODELS.build(contrastive_loss) if contrastive_loss else None)
        self.classification_loss = (
            MODELS.build(classification_loss)
            if classification_loss else None)
        self._check_preprocessor()
        # The stage is a buffer so that checkpoints carry it; _stage_now
        # mirrors it on the host, so reading it costs no device sync.
        self.register_buffer('_stage', torch.tensor(stage, dtype=torch.long))
        self._stage_now = stage
        # Not a buffer: requires_grad is not in a state dict, so a model
        # loaded in stage 2 must freeze again (see forward_train).
        self._routing_frozen = False
        if stage == STAGE_DETERMINISTIC:
            # Frozen from the start, so that whatever looks at the model
            # before its first step (optimizer, DDP, parameter counts) sees
            # the routing path as it will train.
            self._freeze_routing_path()

    def _check_preprocessor(self) -> None:
        """The encoders and the router expect images in [0, 1]."""
        mean = getattr(self.data_preprocessor, 'mean', None)
        std = getattr(self.data_preprocessor, 'std', None)
        if mean is None or std is None:
            return
        if not (torch.allclose(mean, torch.zeros_like(mean))
                and torch.allclose(std, torch.full_like(std, 255.))):
            raise ValueError(
                'SLERRestorer needs data_preprocessor to map images to '
                '[0, 1]: use mean=[0., 0., 0.] and std=[255., 255., 255.], '
                f'got mean={mean.flatten().tolist()}, '
                f'std={std.flatten().tolist()}')

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._stage_now = int(self._stage)

    def _fill_glgf_cfg(self, glgf: dict) -> dict:
        content = self.content_encoder or self.degradation_encoder
        for name in ('embed_dim', 'token_dim', 'grid_size'):
            if not hasattr(content, name):
                raise ValueError(
                    f'GLGF needs a content encoder with CLS and patch tokens '
                    f'({type(content).__name__} has no {name}); set '
                    f'content_encoder or with_glgf=False')
        glgf = dict(glgf)
        for key, value, source in (
            ('content_cls_dim', content.embed_dim,
             "the content encoder's embed_dim"),
            ('content_token_dim', content.token_dim,
             "the content encoder's token_dim"),
            ('degradation_dim', self.degradation_encoder.embed_dim,
             "the degradation encoder's embed_dim"),
            ('layer_channels', tuple(self.generator.layer_channels),
             "the backbone's routed-layer channels"),
        ):
            given = glgf.setdefault(key, value)
            if isinstance(given, list):
                given = tuple(given)
            if given != value:
                raise ValueError(
                    f'model.glgf.{key}={given} does not match {source}, '
                    f'{value}: leave glgf.{key} out of the config (it is '
                    'filled in from there)')
        return glgf

    # ------------------------------------------------------------------ stage
    @property
    def stage(self) -> int:
        """1 (probabilistic routing) or 2 (deterministic routing)."""
        return self._stage_now

    def enter_stage2(self) -> None:
        """Switch to deterministic routing with a frozen routing path.

        Idempotent, so a resumed run can call it again.
        """
        self._stage.fill_(STAGE_DETERMINISTIC)
        self._stage_now = STAGE_DETERMINISTIC
        self._freeze_routing_path()

    def _freeze_routing_path(self) -> None:
        # Frozen encoder + router keep every image on the route it had when
        # stage 2 began, which is what stage 2 refines.
        self.router.freeze()
        for param in self.degradation_encoder.parameters():
            param.requires_grad_(False)
        self._routing_frozen = True

    # ---------------------------------------------------------------- routing
    def routing_tiles(self, inputs: torch.Tensor) -> Optional[List[Box]]:
        """Routing tiles of a batch (:func:`routing_tile_boxes`), or None to
        route on the whole images."""
        h, w = inputs.shape[-2:]
        return routing_tile_boxes(h, w, self.route_tile_size,
                                  self.route_max_tiles_per_side)

    def run_encoders(self,
                     inputs: torch.Tensor,
                     tile_boxes: Optional[List[Box]] = None):
        """Run each encoder once on all the views it needs.

        Args:
            inputs (Tensor): (B, 3, H, W) images in [0, 1], any size.
            tile_boxes (list[tuple], optional): Routing tiles
                (:meth:`routing_tiles`).

        Returns:
            tuple: ``(degradation, content)`` encoder outputs. Degradation:
            the B whole images, then (with GLGF) the 16 crops of each image,
            then the routing tiles of each image. Content: None without
            GLGF; else outputs whose first B rows are the whole images.
        """
        deg = self.degradation_encoder
        crop_grid = self.glgf.crop_grid if self.glgf is not None else 0
        views = deg.preprocess(
            encoder_views(inputs, deg.image_size, crop_grid, tile_boxes))
        if self.glgf is None:
            return deg.forward_preprocessed(views), None
        if self.content_encoder is not None:
            enc = self.content_encoder
            content = enc.forward_preprocessed(
                enc.preprocess(encoder_views(inputs, enc.image_size)))
            return deg.forward_preprocessed(views), content
        if deg.provides_content:
            # The content side is read for the whole images only.
            content, degradation = deg.forward_both_preprocessed(
                views, num_content=inputs.size(0))
            return degradation, content
        # One tower serves both sides.
        degradation = deg.forward_preprocessed(views)
        return degradation, degradation

    def encode(self, inputs: torch.Tensor) -> EncodedBatch:
        """Encoder outputs and GLGF's prior for a batch of images in [0, 1].
        """
        boxes = self.routing_tiles(inputs)
        degradation, content = self.run_encoders(inputs, boxes)
        b = inputs.size(0)
        num_tiles = len(boxes) if boxes else 1
        routing_cls = degradation.cls[-b * num_tiles:] if boxes else None
        if content is None:
            return EncodedBatch(degradation.cls[:b], None, None, routing_cls,
                                num_tiles)
        grid = self.glgf.crop_grid
        grid_hw = tuple((self.content_encoder
                         or self.degradation_encoder).grid_size)
        crops = degradation.cls[b:b + b * grid * grid]
        prior = self.glgf(content.cls[:b], content.tokens[:b],
                          crops.view(b, grid * grid, -1), grid_hw)
        return EncodedBatch(degradation.cls[:b], prior, grid_hw, routing_cls,
                            num_tiles)

    def route_encoded(self, encoded: EncodedBatch):
        """The route of each image of an encoded batch.

        Returns:
            RoutingResult: per image (tiles aggregated by the router).
        """
        routed = self.router(encoded.router_input)
        return self.router.aggregate_tiles(routed, encoded.num_tiles)

    def route(self, inputs: torch.Tensor):
        """Routing result (embeddings, logits, probs, indices) for a batch.

        The same route as restoring the batch takes, from only the views
        the router reads (the whole images, or their routing tiles): no
        GLGF crops and no prior.
        """
        deg = self.degradation_encoder
        boxes = self.routing_tiles(inputs)
        views = deg.preprocess(
            encoder_views(inputs, deg.image_size, tile_boxes=boxes,
                          whole=boxes is None))
        return self.router.aggregate_tiles(
            self.router(deg.forward_preprocessed(views).cls),
            len(boxes) if boxes else 1)

    def _soft_at_test(self) -> bool:
        if self.test_routing == 'auto':
            return self.stage == STAGE_PROBABILISTIC
        return self.test_routing == 'soft'

    # ---------------------------------------------------------------- forward
    def forward_tensor(self,
                       inputs: torch.Tensor,
                       data_samples: Optional[DataSample] = None,
                       **kwargs) -> torch.Tensor:
        """Restore ``inputs`` of any size (padded, then cropped back)."""
        return self._restore(inputs, soft=self._soft_at_test())[0]

    def inference_routing(self, routed) -> torch.Tensor:
        """The routing that validation/test/inference runs the backbone with.

        Args:
            routed (RoutingResult): The router's output for a batch.

        Returns:
            Tensor: ``routed.probs`` (B, 8, num_experts) under soft routing
            (see ``test_cfg.routing``), else ``routed.indices`` (B, 8).
        """
        return routed.probs if self._soft_at_test() else routed.indices

    def restore_with_route(self,
                           inputs: torch.Tensor,
                           routing: torch.Tensor,
                           prior: Optional[torch.Tensor] = None,
                           grid_hw: Optional[Tuple[int, int]] = None
                           ) -> torch.Tensor:
        """Run the backbone along a given route (padded, cropped back).

        Lets a caller route once and restore parts of the image apart, e.g.
        the tiles of a large image along the whole image's route.

        Args:
            inputs (Tensor): (B, 3, H, W) images in [0, 1], any size.
            routing (Tensor): Hard (B, 8) expert indices or soft
                (B, 8, num_experts) probabilities, see ``SLERNet.forward``.
            prior (Tensor, optional): (B, N, prior_dim) GLGF prior to inject,
                e.g. ``encode(...).prior``. None injects nothing.
            grid_hw (tuple[int, int], optional): The prior's (h, w) grid;
                needed with ``prior``.

        Returns:
            Tensor: (B, 3, H, W) restored images in the inputs' range.
        """
        hook = None
        if prior is not None:
            if self.glgf is None:
                raise ValueError('restore_with_route got a prior, but this '
                                 'model has no GLGF to inject it')
            if grid_hw is None:
                raise ValueError('restore_with_route needs grid_hw (the '
                                 "prior's (h, w) grid) with a prior")
            hook = self.glgf.make_feature_hook(prior, grid_hw)
        padded, (h, w) = pad_to_multiple(inputs, self.pad_multiple)
        pred = self.generator(padded, routing, feature_hook=hook)
        return pred[..., :h, :w]

    def _restore(self, inputs: torch.Tensor,
                 soft: bool) -> Tuple[torch.Tensor, object]:
        encoded = self.encode(inputs)
        routed = self.route_encoded(encoded)
        pred = self.restore_with_route(
            inputs, routed.probs if soft else routed.indices, encoded.prior,
            encoded.grid_hw)
        return pred, routed

    def forward_inference(self,
                          inputs: torch.Tensor,
                          data_samples: Optional[DataSample] = None,
                          **kwargs) -> DataSample:
        """Predictions with each image's route (8 expert indices)."""
        pred, routed = self._restore(inputs, soft=self._soft_at_test())
        pred = self.data_preprocessor.destruct(pred, data_samples)
        return DataSample(pred_img=pred.cpu(), route=routed.indices.cpu())

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[DataSample] = None,
                mode: str = 'tensor',
                **kwargs):
        if mode == 'predict' and data_samples is None:
            # Plain inference on images without any annotation.
            if isinstance(inputs, dict):
                inputs = inputs['img']
            h, w = inputs.shape[-2:]
            data_samples = DataSample.stack([
                DataSample(metainfo=dict(ori_img_shape=(h, w, inputs.size(1))))
                for _ in range(inputs.size(0))
            ])
        return super().forward(inputs, data_samples, mode, **kwargs)

    def forward_train(self,
                      inputs: torch.Tensor,
                      data_samples: Optional[DataSample] = None,
                      **kwargs) -> Dict[str, torch.Tensor]:
        """Losses of one training step (and, in stage 1, a center update)."""
        if data_samples is None or 'gt_img' not in data_samples:
            raise ValueError('SLERRestorer needs ground truth (gt_img) in '
                             'the data samples to train')
        stage1 = self.stage == STAGE_PROBABILISTIC
        if not stage1 and not self._routing_frozen:
            # A stage-2 checkpoint loaded with `load_from` restores the stage
            # buffer but not requires_grad: freeze again.
            self._freeze_routing_path()
        pred, routed = self._restore(inputs, soft=stage1)
        losses = dict(loss_pix=self.pixel_loss(pred, data_samples.gt_img))
        if stage1:
            if self.contrastive_loss is not None:
                labels = self._degradation_labels(data_samples,
                                                  inputs.shape[0])
                loss_hc = self.contrastive_loss(routed.embeddings,
                                                labels.to(inputs.device))
                losses['loss_hc'] = loss_hc
                # Logged, not summed (no 'loss' in the key); 1 when the
                # hinge gives no gradient. RouteDiagnosticsHook reports the
                # share of such batches per epoch.
                losses['hc_zero'] = (loss_hc.detach() == 0).float()
            if self.classification_loss is not None:
                if routed.class_logits is None:
                    raise ValueError(
                        'classification_loss needs class_logits in the '
                        f'routing result; {type(self.router).__name__} '
                        'gives none')
                labels = self._class_labels(data_samples, inputs.shape[0])
                losses['loss_cls'] = self.classification_loss(
                    routed.class_logits, labels.to(inputs.device))
            with torch.no_grad():
                self.router.update_centers(routed.embeddings.detach())
        else:
            # Stage 2 has no label terms; logging zeros keeps the log from
            # repeating the last stage-1 values.
            if self.contrastive_loss is not None:
                losses['loss_hc'] = pred.new_zeros(())
                losses['hc_zero'] = pred.new_ones(())  # the loss is off
            if self.classification_loss is not None:
                losses['loss_cls'] = pred.new_zeros(())
        # Keys without 'loss' are logged by MMEngine, not summed into the loss.
        for name, value in self.router.routing_stats().items():
            losses[f'router_{name}'] = torch.as_tensor(
                value, dtype=torch.float32, device=inputs.device)
        return losses

    def _degradation_labels(self, data_samples: DataSample,
                            batch_size: int) -> torch.Tensor:
        """Per-sample degradation labels as integer ids.

        Labels may be ints or task names; only equality matters to the
        contrastive loss, so names are mapped to ids in order of appearance.
        """
        values = self._label_values(data_samples, batch_size,
                                    'contrastive_loss')
        ids: Dict[object, int] = {}
        return torch.tensor([ids.setdefault(v, len(ids)) for v in values],
                            dtype=torch.long)

    def _class_labels(self, data_samples: DataSample,
                      batch_size: int) -> torch.Tensor:
        """Per-sample true class ids for the classification loss.

        Unlike the contrastive loss, cross-entropy needs the same id for a
        class in every batch, so task names are refused, not enumerated.
        """
        values = self._label_values(data_samples, batch_size,
                                    'classification_loss')
        bad = [
            v for v in values
            if isinstance(v, bool) or not isinstance(v, numbers.Integral)
        ]
        if bad:
            raise ValueError(
                f'classification_loss needs integer class ids in '
                f'metainfo[{self.label_key!r}] (the same id for a class in '
                f'every batch, e.g. sler_ir_mm.datasets.layouts.TASK_LABELS'
                f'), got {bad[0]!r}; use integer labels')
        return torch.tensor([int(v) for v in values], dtype=torch.long)

    def _label_values(self, data_samples: DataSample, batch_size: int,
                      loss_name: str) -> list:
        """The raw labels of a batch, one per sample.

        Args:
            data_samples (DataSample): The batch's stacked data samples.
            batch_size (int): Number of samples in the batch.
            loss_name (str): Config key of the loss that needs them, named
                in the error when they are missing.
        """
        values = data_samples.metainfo.get(self.label_key, None)
        if values is None:
            raise KeyError(
                f'stage-1 training needs each sample\'s degradation label '
                f'in metainfo[{self.label_key!r}]; add it to the dataset '
                f"and keep it with PackInputs(meta_keys=['{self.label_key}'"
                f'...]), or set {loss_name}=None')
        if isinstance(values, torch.Tensor):
            values = values.flatten().tolist()
        elif not isinstance(values, (list, tuple)):
            values = [values]
        if len(values) != batch_size:
            raise ValueError(f'got {len(values)} labels in '
                             f'metainfo[{self.label_key!r}] for a batch of '
                             f'{batch_size}')
        return list(values)
