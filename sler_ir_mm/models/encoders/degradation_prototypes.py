"""The degradation names a pretrained tower was trained to recognise.

The pretraining (:mod:`sler_ir_mm.engine.degradation_pretraining`) keeps,
beside the tower, one unit prototype per degradation class and the logit
scale; with them the frozen tower names the degradation of an image, which
is what a user needs to judge a route. The file may also hold a similarity
threshold chosen on the training data: an image whose embedding is less
similar than that to every prototype looks unlike every trained
degradation.
"""
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from sler_ir_mm.utils.checkpoint_io import load_checkpoint_file

__all__ = ['DegradationPrototypes', 'load_degradation_prototypes']


class DegradationPrototypes(NamedTuple):
    """Per-degradation prototypes of a pretrained degradation tower.

    Attributes:
        classes (tuple[str]): Degradation names, in label order.
        prototypes (Tensor): (N, D) unit prototypes, on the CPU.
        logit_scale (float): What the cosines are multiplied by.
        threshold (float, optional): The similarity below which an image
            looks unlike every trained degradation; None when the file was
            not calibrated.
        quantile (float, optional): The share of held-out training views
            below ``threshold`` (what it was chosen as).
    """
    classes: Tuple[str, ...]
    prototypes: Tensor
    logit_scale: float
    threshold: Optional[float] = None
    quantile: Optional[float] = None

    def cosines(self, embeddings: Tensor) -> Tensor:
        """(B, N) cosine of (B, D) tower embeddings to each prototype."""
        protos = self.prototypes.to(embeddings.device, embeddings.dtype)
        return F.normalize(embeddings, dim=-1) @ protos.t()

    def logits(self, embeddings: Tensor) -> Tensor:
        """(B, N) class logits (the scaled cosines), as the pretraining's
        classifier gives them."""
        return self.logit_scale * self.cosines(embeddings)

    def probabilities(self, embeddings: Tensor) -> Tensor:
        """(B, N) class probabilities (softmax of :meth:`logits`)."""
        return self.logits(embeddings).softmax(-1)


def load_degradation_prototypes(path: str) -> Optional[DegradationPrototypes]:
    """The prototypes of a file the pretraining wrote.

    Args:
        path (str): A pretrained degradation encoder file.

    Returns:
        DegradationPrototypes | None: None when the file holds no
        prototypes (e.g. an open_clip or DA-CLIP checkpoint).
    """
    obj = load_checkpoint_file(path, 'degradation encoder')
    if not isinstance(obj, dict) or 'prototypes' not in obj:
        return None
    meta = obj.get('meta') or {}
    classes = tuple(str(c) for c in meta.get('classes', ()))
    prototypes = F.normalize(obj['prototypes'].detach().float().cpu(),
                             dim=-1)
    if len(classes) != prototypes.shape[0]:
        raise ValueError(
            f'degradation encoder {path}: {prototypes.shape[0]} prototypes '
            f'but {len(classes)} class names in its meta')
    scale = float(torch.as_tensor(obj.get('logit_scale', 0.0)).exp().clamp(
        max=100.0))
    calibration = meta.get('similarity_calibration') or {}
    threshold = calibration.get('threshold')
    return DegradationPrototypes(
        classes, prototypes, scale,
        None if threshold is None else float(threshold),
        calibration.get('quantile'))
