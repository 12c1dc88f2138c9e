"""SLER-IR: an expert-routed Restormer trained in two stages."""
import inspect
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmagic.models.base_models import BaseEditModel
from mmagic.registry import MODELS
from mmagic.structures import DataSample

from sler_ir_mm.models.encoders import BaseViewEncoder, EncoderOutput
from sler_ir_mm.models.routers import BaseRouter, RoutingResult
from sler_ir_mm.utils import check_int
from sler_ir_mm.utils.view_geometry import Box
from .config_dims import Dim, fill_dims
from .degradation_labels import class_labels, contrastive_labels
from .encoded_batch import BatchEncoder, EncodedBatch
from .restore_plan import RestorePlan

STAGE_PROBABILISTIC = 1
STAGE_DETERMINISTIC = 2
# Pad multiple of a backbone that does not state its size_divisor.
DEFAULT_PAD_MULTIPLE = 8


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


def _build_encoder(cfg: dict, name: str) -> BaseViewEncoder:
    """Build ``model.<name>``, a view encoder that names its weights' config
    key in errors."""
    what = (f'model.{name} must build an image encoder with the view '
            'interface (sler_ir_mm.models.encoders.BaseViewEncoder: '
            'image_size, embed_dim, preprocess, forward_preprocessed)')
    cls = MODELS.get(cfg['type']) if isinstance(cfg['type'], str) \
        else cfg['type']
    # Checked before building: another class would fail on config_key.
    if inspect.isclass(cls) and not issubclass(cls, BaseViewEncoder):
        raise TypeError(f'{what}; {cls.__name__} is not one')
    encoder = MODELS.build(
        dict(cfg, config_key=cfg.get('config_key',
                                     f'model.{name}.checkpoint')))
    if not isinstance(encoder, BaseViewEncoder):
        raise TypeError(f'{what}; got a {type(encoder).__name__}')
    return encoder


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
    tower when ``content_encoder`` is None) runs once per view
    (:class:`BatchEncoder`).

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
        router (dict): A ``BaseRouter``, e.g. ``dict(type='SphericalRouter')``
            or ``dict(type='ClassifierRouter', num_classes=5)``.
            ``in_channels``, ``num_layers`` and ``num_experts`` are filled in
            from the encoder and the backbone when not given;
            ``num_classes`` is not.
        degradation_encoder (dict): An encoder with the view interface
            (``BaseViewEncoder``): ``CLIPImageEncoder``, ``DACLIPEncoder``,
            ``ConvDegradationEncoder`` or ``PretrainedDegradationEncoder``.
            The CLS of the whole image (or of its routing tiles) feeds the
            router.
        content_encoder (dict, optional): The content CLIP for GLGF (a
            ``BaseViewEncoder`` with patch tokens). None takes the content
            side from the degradation encoder: DA-CLIP's content output, or
            the same tower's output for a plain encoder.
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
            Needs a router with spherical embeddings
            (``has_spherical_embeddings``, not ``ClassifierRouter``).
        classification_loss (dict, optional): Loss on a classifier router's
            class logits and the degradation labels, e.g.
            ``dict(type='DegradationClassificationLoss', loss_weight=1.0)``
            (the paper's L_cls). Needs a router that classifies
            (``classifies``, e.g. ``ClassifierRouter``) and integer class ids
            as labels. None: no classification loss.
        label_key (str): Metainfo key of each training sample's degradation
            label: an int or a task name for ``contrastive_loss``, an int
            class id (e.g. ``sler_ir_mm.datasets.layouts.TASK_LABELS``) for
            ``classification_loss``. Default: 'degradation_label'.
        stage (int): Stage to start in, 1 or 2. Default: 1.
        pad_multiple (int, optional): Inputs are padded to a multiple of
            this and the output cropped back. None: the backbone's
            ``size_divisor`` (8 for ``SLERNet``: three 2x downsamplings).
            Default: None.
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
                 pad_multiple: Optional[int] = None,
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
        if pad_multiple is None:
            # The backbone knows the multiple its downsamplings need.
            pad_multiple = getattr(self.generator, 'size_divisor',
                                   DEFAULT_PAD_MULTIPLE)
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

        self.degradation_encoder = _build_encoder(degradation_encoder,
                                                  'degradation_encoder')
        self.content_encoder = None
        self.glgf = None
        if glgf is not None and with_glgf:
            if content_encoder is not None:
                self.content_encoder = _build_encoder(
                    content_encoder, 'content_encoder')
            self.glgf = MODELS.build(self._glgf_cfg(glgf))
        self.router = self._build_router(router)
        if contrastive_loss and not self.router.has_spherical_embeddings:
            raise ValueError(
                'contrastive_loss is defined on spherical routing embeddings'
                f' and cannot train {type(self.router).__name__}: set '
                'contrastive_loss=None (use classification_loss for label '
                'supervision)')
        if classification_loss and not self.router.classifies:
            raise ValueError(
                'classification_loss needs a router that classifies the '
                'degradation into num_classes classes (classifies=True, '
                f'e.g. ClassifierRouter); {type(self.router).__name__} '
                'does not')
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

    # ----------------------------------------------------------------- wiring
    def _glgf_cfg(self, glgf: dict) -> dict:
        """GLGF's config with the sizes of the encoders and the backbone."""
        content = self.content_encoder or self.degradation_encoder
        if not content.has_tokens:
            raise ValueError(
                f'GLGF needs a content encoder with CLS and patch tokens '
                f'({type(content).__name__} has no token_dim and grid_size);'
                f' set content_encoder or with_glgf=False')
        return fill_dims(glgf, 'glgf', [
            ('content_cls_dim', content.embed_dim,
             "the content encoder's embed_dim"),
            ('content_token_dim', content.token_dim,
             "the content encoder's token_dim"),
            ('degradation_dim', self.degradation_encoder.embed_dim,
             "the degradation encoder's embed_dim"),
            ('layer_channels', tuple(self.generator.layer_channels),
             "the backbone's routed-layer channels"),
        ])

    def _build_router(self, router: dict) -> BaseRouter:
        """The router, with the sizes of the encoder and the backbone."""
        router = MODELS.build(fill_dims(router, 'router', [
            ('in_channels', self.degradation_encoder.embed_dim,
             "the degradation encoder's embed_dim"),
            ('num_layers', self.generator.num_routed_layers,
             "the backbone's number of routed layers"),
            Dim('num_experts', self.generator.num_experts,
                "the backbone's num_experts (model.generator.num_experts)",
                '; to train {given} experts per layer set '
                'model.generator.num_experts={given}'),
        ]))
        if not isinstance(router, BaseRouter):
            raise TypeError(
                'model.router must build a router (sler_ir_mm.models.routers'
                f'.BaseRouter), got a {type(router).__name__}')
        return router

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
    @property
    def batch_encoder(self) -> BatchEncoder:
        """What runs this model's encoders on the views of a batch."""
        # Made on demand: a plain object over the current modules, so that
        # nothing is registered twice and a replaced module is seen.
        return BatchEncoder(self.degradation_encoder, self.content_encoder,
                            self.glgf, self.route_tile_size,
                            self.route_max_tiles_per_side)

    def routing_tiles(self, inputs: torch.Tensor) -> Optional[List[Box]]:
        """Routing tiles of a batch (:func:`routing_tile_boxes`), or None to
        route on the whole images."""
        return self.batch_encoder.tile_boxes(inputs)

    def run_encoders(self,
                     inputs: torch.Tensor,
                     tile_boxes: Optional[List[Box]] = None
                     ) -> Tuple[EncoderOutput, Optional[EncoderOutput]]:
        """Run each encoder once on all the views it needs.

        See :meth:`BatchEncoder.run`: ``(degradation, content)`` outputs;
        without tiles, degradation holds the B whole images, then (with
        GLGF) the crops of each image.
        """
        return self.batch_encoder.run(inputs, tile_boxes)

    def encode(self, inputs: torch.Tensor) -> EncodedBatch:
        """Encoder outputs and GLGF's prior for a batch of images in [0, 1].
        """
        return self.batch_encoder.encode(inputs)

    def route_encoded(self, encoded: EncodedBatch) -> RoutingResult:
        """The route of each image of an encoded batch.

        Returns:
            RoutingResult: per image (tiles aggregated by the router).
        """
        return self.router.route(encoded.router_input, encoded.num_tiles)

    def route(self, inputs: torch.Tensor) -> RoutingResult:
        """Routing result (embeddings, logits, probs, indices) for a batch.

        The same route as restoring the batch takes, from only the views
        the router reads (the whole images, or their routing tiles): no
        GLGF crops and no prior.
        """
        return self.route_encoded(
            self.batch_encoder.encode(inputs, with_prior=False))

    def _soft_at_test(self) -> bool:
        if self.test_routing == 'auto':
            return self.stage == STAGE_PROBABILISTIC
        return self.test_routing == 'soft'

    def inference_routing(self, routed: RoutingResult) -> torch.Tensor:
        """The routing that validation/test/inference runs the backbone with.

        Args:
            routed (RoutingResult): The router's output for a batch.

        Returns:
            Tensor: ``routed.probs`` (B, 8, num_experts) under soft routing
            (see ``test_cfg.routing``), else ``routed.indices`` (B, 8).
        """
        return routed.probs if self._soft_at_test() else routed.indices

    # -------------------------------------------------------------- restoring
    def restore_with_route(self,
                           inputs: torch.Tensor,
                           routing: torch.Tensor,
                           prior: Optional[torch.Tensor] = None,
                           grid_hw: Optional[Tuple[int, int]] = None
                           ) -> torch.Tensor:
        """Run the backbone along a given route (padded, cropped back).

        Lets a caller route once and restore parts of the image apart, e.g.
        the tiles of a large image along the whole image's route
        (:meth:`plan_restore`).

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

    def plan_restore(self, inputs: torch.Tensor) -> RestorePlan:
        """Route a batch once, on the whole images, to restore it in parts.

        The route (``test_cfg.routing``) and GLGF's prior come from the
        whole images; the plan restores any region along that route with
        the prior resampled to the region, e.g. the tiles of an image too
        large for one pass (``sler_ir_mm.apis.restore_image(tile=...)``).

        Args:
            inputs (Tensor): (B, 3, H, W) images in [0, 1], any size.

        Returns:
            RestorePlan: ``plan(region, box)`` restores a region;
            ``plan.route`` is the (B, 8) route.
        """
        encoded = self.encode(inputs)
        routed = self.route_encoded(encoded)
        return RestorePlan(self.restore_with_route,
                           self.inference_routing(routed), routed.indices,
                           tuple(inputs.shape[-2:]), self.pad_multiple,
                           encoded.prior, encoded.grid_hw, routed,
                           encoded.router_input, encoded.num_tiles)

    def _restore(self, inputs: torch.Tensor,
                 soft: bool) -> Tuple[torch.Tensor, RoutingResult]:
        encoded = self.encode(inputs)
        routed = self.route_encoded(encoded)
        pred = self.restore_with_route(
            inputs, routed.probs if soft else routed.indices, encoded.prior,
            encoded.grid_hw)
        return pred, routed

    # ---------------------------------------------------------------- forward
    def forward_tensor(self,
                       inputs: torch.Tensor,
                       data_samples: Optional[DataSample] = None,
                       **kwargs) -> torch.Tensor:
        """Restore ``inputs`` of any size (padded, then cropped back)."""
        return self._restore(inputs, soft=self._soft_at_test())[0]

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
        batch_size = inputs.shape[0]
        if stage1:
            if self.contrastive_loss is not None:
                labels = contrastive_labels(data_samples, batch_size,
                                            self.label_key)
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
                labels = class_labels(data_samples, batch_size,
                                      self.label_key)
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
