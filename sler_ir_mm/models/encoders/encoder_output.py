"""The common return type of the SLER-IR image encoders."""
from typing import NamedTuple

from torch import Tensor


class EncoderOutput(NamedTuple):
    """What an image encoder returns for a batch of views.

    It unpacks like the plain ``(cls, tokens)`` tuple, so code written for
    ``cls, tokens = encoder(img)`` keeps working.

    Attributes:
        cls (Tensor): Global embedding, shape (B, D): for the CLIP towers the
            pooled and projected CLS token (D = ``embed_dim``).
        tokens (Tensor): Per-patch tokens, shape (B, N, T): for the CLIP
            towers N = grid_h * grid_w patch tokens of width T = ``token_dim``
            in row-major patch order.
    """

    cls: Tensor
    tokens: Tensor
