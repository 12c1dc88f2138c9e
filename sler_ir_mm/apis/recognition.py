"""What a SLER-IR model recognised in an image, and how sure it is.

A route is only as good as the degradation embedding behind it, so with
the restored image a user gets what the frozen degradation encoder saw:

- with a tower the project pretrained (it keeps one prototype per trained
  degradation), a probability per known degradation, the most probable
  one, and the image's similarity to its nearest prototype; below the
  threshold chosen on held-out training views
  (``meta['similarity_calibration']`` of the encoder file), the image looks
  unlike every trained degradation and a warning says so;
- with any other encoder (e.g. DA-CLIP's controller), the per-layer
  probabilities of the experts (the nearest routing centers) only.

Scores and similarity are the mean over the views the router read (its
routing tiles, or the whole image), as the route is.
"""
from typing import Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn

__all__ = ['Recognition', 'recognize']


def _fmt_path(route: List[int]) -> str:
    return '-'.join(str(i) for i in route)


class Recognition(NamedTuple):
    """What the model recognised in one image.

    Attributes:
        label (str | None): The most probable known degradation; None
            without prototypes.
        scores (dict[str, float]): Probability of each known degradation,
            in label order; empty without prototypes.
        similarity (float | None): Cosine of the image's degradation
            embedding to the nearest prototype (without prototypes: to the
            nearest routing center, averaged over layers).
        threshold (float | None): The similarity below which the image
            looks unlike every trained degradation; None when not
            calibrated.
        unlike (bool | None): ``similarity < threshold``; None when there is
            no threshold.
        source (str): 'prototypes' or 'centers'.
        layer_scores (list[list[float]]): Per routed layer, the probability
            of each expert.
        route (list[int]): The expert of each routed layer.
        threshold_quantile (float | None): The share of held-out training
            views whose similarity is below ``threshold``.
    """
    label: Optional[str]
    scores: Dict[str, float]
    similarity: Optional[float]
    threshold: Optional[float]
    unlike: Optional[bool]
    source: str
    layer_scores: List[List[float]]
    route: List[int]
    threshold_quantile: Optional[float] = None

    def to_dict(self) -> dict:
        """A JSON-able dict of every field, plus the path as text and the
        warning (None when there is none)."""
        out = self._asdict()
        out['path'] = _fmt_path(self.route)
        out['warning'] = self.warning()
        return out

    def describe(self) -> str:
        """One line: the recognised degradation and its score, the runner
        up, the similarity and the path."""
        parts = []
        if self.label is not None:
            ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
            text = f'{self.label} {ranked[0][1]:.2f}'
            if len(ranked) > 1:
                text += f' (next {ranked[1][0]} {ranked[1][1]:.2f})'
            parts.append(text)
        else:
            parts.append('no degradation names (encoder without '
                         'prototypes)')
        if self.similarity is not None:
            sim = f'similarity {self.similarity:.2f}'
            if self.threshold is not None:
                sim += f' (unlike below {self.threshold:.2f})'
            parts.append(sim)
        if self.unlike:
            parts.append('UNLIKE every trained degradation')
        parts.append(f'path {_fmt_path(self.route)}')
        return '; '.join(parts)

    def warning(self) -> Optional[str]:
        """A plain-language warning when the image looks unlike every
        trained degradation, else None."""
        if not self.unlike:
            return None
        return (f'This photo looks unlike every degradation the model was '
                f'trained on (similarity {self.similarity:.2f} to the '
                f'nearest one, {self.label}; {self._share()} of training '
                f'images are below {self.threshold:.2f}). Its route is a '
                'guess: check the result against the input.')

    def _share(self) -> str:
        if self.threshold_quantile is None:
            return 'few'
        return f'{100 * self.threshold_quantile:g} %'


def _centers_similarity(router: nn.Module, routed) -> Optional[float]:
    """Mean over layers of the cosine to the nearest center, from the
    router's logits (cosine / temperature); None when the router has no
    temperature (e.g. a classifier router)."""
    temperature = getattr(router, 'temperature', None)
    if temperature is None:
        return None
    tau = float(torch.as_tensor(temperature).detach().float().mean())
    return float(routed.logits[0].max(-1).values.mean()) * tau


@torch.no_grad()
def recognize(model: nn.Module, plan) -> Optional[Recognition]:
    """What the model recognised in the first image of a restore plan.

    Args:
        model (nn.Module): An ``SLERRestorer``.
        plan (RestorePlan): From ``model.plan_restore(inputs)``.

    Returns:
        Recognition | None: None when the plan carries no router output
        (a plain restorer).
    """
    routed = getattr(plan, 'routed', None)
    if routed is None:
        return None
    route = [int(i) for i in plan.route[0].tolist()]
    layer_scores = [[round(float(p), 4) for p in row]
                    for row in routed.probs[0].float().cpu()]
    encoder = getattr(model, 'degradation_encoder', None)
    prototypes = getattr(encoder, 'degradation_prototypes', None)
    embeddings = getattr(plan, 'router_input', None)
    if prototypes is None or embeddings is None:
        return Recognition(None, {},
                           _centers_similarity(model.router, routed), None,
                           None, 'centers', layer_scores, route)
    # The router read num_tiles views of each image, image-major.
    cosines = prototypes.cosines(embeddings[:plan.num_tiles].float())
    probs = (prototypes.logit_scale * cosines).softmax(-1).mean(0).cpu()
    similarity = float(cosines.max(-1).values.mean())
    scores = {
        name: round(float(p), 4)
        for name, p in zip(prototypes.classes, probs)
    }
    label = prototypes.classes[int(probs.argmax())]
    threshold = prototypes.threshold
    unlike = None if threshold is None else similarity < threshold
    return Recognition(label, scores, round(similarity, 4), threshold,
                       unlike, 'prototypes', layer_scores, route,
                       prototypes.quantile)
