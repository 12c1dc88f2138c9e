"""Restore an image region by region along the route of the whole image."""
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F

from sler_ir_mm.utils.view_geometry import Box

__all__ = ['RestorePlan', 'prior_for_region']

HW = Tuple[int, int]
# restore_with_route(region, routing, prior, grid_hw) -> restored region.
RouteFn = Callable[
    [torch.Tensor, torch.Tensor, Optional[torch.Tensor], Optional[HW]],
    torch.Tensor]


def prior_for_region(prior: torch.Tensor, grid_hw: HW, box: Box,
                     image_hw: HW, multiple: int) -> torch.Tensor:
    """The whole image's GLGF prior resampled to one region.

    The backbone stretches the prior grid over its padded input, so a pixel
    of the whole (padded) image gets the prior at its relative position; the
    region's prior grid is sampled at the same positions, so each region
    sees the prior of its own pixels.

    Args:
        prior (Tensor): (B, h * w, C) prior of the whole image.
        grid_hw (tuple[int, int]): Its grid (h, w).
        box (tuple): The region, ``(top, left, height, width)``.
        image_hw (tuple[int, int]): The whole image's (H, W).
        multiple (int): What the restorer pads images to.

    Returns:
        Tensor: (B, h * w, C) prior of the region.
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


class RestorePlan:
    """A batch routed once, on the whole images, restored region by region.

    The degradation is judged globally: the route and GLGF's prior come
    from the whole images, and every region (e.g. a tile of a large image)
    follows that route, with the prior resampled to the region
    (:func:`prior_for_region`). Made by ``SLERRestorer.plan_restore``.

    Args:
        restore_with_route (callable): ``(region, routing, prior, grid_hw)
            -> restored region``, e.g. ``SLERRestorer.restore_with_route``.
        routing (Tensor): What the backbone runs with: (B, K) indices or
            (B, K, C) probabilities.
        route (Tensor): (B, K) expert index per image and routed layer.
        image_hw (tuple[int, int]): The whole images' (H, W).
        pad_multiple (int): What the restorer pads images to.
        prior (Tensor, optional): (B, N, P) GLGF prior of the whole images.
        grid_hw (tuple[int, int], optional): The prior's grid.
        routed (RoutingResult, optional): The router's output the route
            came from (per-layer expert probabilities).
        router_input (Tensor, optional): (B * T, D) degradation embeddings
            the router read, T per image (whole images or routing tiles).
        num_tiles (int): T. Default: 1.
    """

    def __init__(self,
                 restore_with_route: RouteFn,
                 routing: torch.Tensor,
                 route: torch.Tensor,
                 image_hw: HW,
                 pad_multiple: int,
                 prior: Optional[torch.Tensor] = None,
                 grid_hw: Optional[HW] = None,
                 routed=None,
                 router_input: Optional[torch.Tensor] = None,
                 num_tiles: int = 1) -> None:
        self._restore_with_route = restore_with_route
        self.routing = routing
        self.route = route
        self.image_hw = tuple(image_hw)
        self.pad_multiple = pad_multiple
        self.prior = prior
        self.grid_hw = grid_hw
        self.routed = routed
        self.router_input = router_input
        self.num_tiles = num_tiles

    def __call__(self, region: torch.Tensor, box: Box) -> torch.Tensor:
        """Restore one region of the images.

        Args:
            region (Tensor): (B, 3, h, w) pixels of ``box`` of the images the
                plan was made for (the model's inputs).
            box (tuple): ``(top, left, height, width)`` of the region.

        Returns:
            Tensor: (B, 3, h, w) restored region.
        """
        prior = self.prior
        if prior is not None and tuple(box) != (0, 0) + self.image_hw:
            prior = prior_for_region(prior, self.grid_hw, box,
                                     self.image_hw, self.pad_multiple)
        return self._restore_with_route(region, self.routing, prior,
                                        self.grid_hw)
