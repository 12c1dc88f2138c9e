"""The view interface every SLER-IR image encoder implements.

``SLERRestorer`` encodes all views of a batch (whole images, GLGF's crops,
routing tiles) in one call per encoder: it resizes them itself to the
encoder's ``image_size``, hands them to ``preprocess`` and runs
``forward_preprocessed`` once. This module writes that contract down.
"""
from abc import ABCMeta, abstractmethod
from typing import Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from .encoder_output import EncoderOutput

__all__ = ['BaseViewEncoder']


class BaseViewEncoder(BaseModule, metaclass=ABCMeta):
    """An image encoder with the view interface.

    Subclasses set, in ``__init__``:

    - ``image_size`` ((int, int)): the (S_h, S_w) of its views;
    - ``embed_dim`` (int): the width D of ``EncoderOutput.cls``;
    - for an encoder with patch tokens (what GLGF reads on the content
      side), ``token_dim`` (int, the width of ``EncoderOutput.tokens``) and
      ``grid_size`` ((int, int), the tokens' row-major grid); see
      :attr:`has_tokens`.

    and implement :meth:`preprocess` and :meth:`forward_preprocessed`. An
    encoder that gives the content side as well as the degradation side in
    one pass (DA-CLIP) sets ``provides_content = True`` and implements
    :meth:`forward_both_preprocessed`.

    The restorer passes ``config_key`` (the config key of the encoder's
    weights, e.g. ``'model.degradation_encoder.checkpoint'``) when it builds
    an encoder, for its errors to name; an encoder (or a builder function
    registered as one) must accept it, even if it reads no file.
    """

    #: Side (S_h, S_w) of the views.
    image_size: Tuple[int, int]
    #: Width D of the global embedding ``EncoderOutput.cls``.
    embed_dim: int
    #: Width of the patch tokens; None: no tokens GLGF can use.
    token_dim: Optional[int] = None
    #: (h, w) grid of the patch tokens; None: no tokens GLGF can use.
    grid_size: Optional[Tuple[int, int]] = None
    #: Whether :meth:`forward_both_preprocessed` gives a content side too.
    provides_content: bool = False
    #: Named degradation prototypes of the embedding
    #: (``DegradationPrototypes``), when the weights came with them (a tower
    #: the project pretrained); None: the embedding has no names.
    degradation_prototypes = None

    @property
    def has_tokens(self) -> bool:
        """Whether the encoder gives patch tokens on a grid (``token_dim``
        and ``grid_size`` are set), as GLGF's content side needs."""
        return self.token_dim is not None and self.grid_size is not None

    @abstractmethod
    def preprocess(self, img: Tensor) -> Tensor:
        """Turn (B, 3, H, W) images in [0, 1] into views.

        Resizes to ``image_size`` when the size differs (a no-op resize for
        views already cut to that size) and normalises as the encoder needs.

        Args:
            img (Tensor): (B, 3, H, W) float images in [0, 1].

        Returns:
            Tensor: (B, 3, S_h, S_w) views for :meth:`forward_preprocessed`.
        """

    @abstractmethod
    def forward_preprocessed(self, views: Tensor) -> EncoderOutput:
        """Embed views from :meth:`preprocess` (the degradation side).

        Args:
            views (Tensor): (B, 3, S_h, S_w) views.

        Returns:
            EncoderOutput: ``cls`` (B, embed_dim) and ``tokens`` (B, N, T).
        """

    def forward_both_preprocessed(
            self,
            views: Tensor,
            num_content: Optional[int] = None
    ) -> Tuple[EncoderOutput, EncoderOutput]:
        """Content and degradation sides of views in one pass.

        Only for encoders with ``provides_content = True``.

        Args:
            views (Tensor): (B, 3, S_h, S_w) views from :meth:`preprocess`.
            num_content (int, optional): Only the first ``num_content``
                views need the content side. Default: all views.

        Returns:
            tuple[EncoderOutput, EncoderOutput]: (content of the first
            ``num_content`` views, degradation of all B views).
        """
        raise NotImplementedError(
            f'{type(self).__name__} gives no content side '
            '(provides_content is False)')

    def forward(self, img: Tensor) -> EncoderOutput:
        """Embed (B, 3, H, W) images in [0, 1] of any size: ``preprocess``
        then ``forward_preprocessed``."""
        return self.forward_preprocessed(self.preprocess(img))
