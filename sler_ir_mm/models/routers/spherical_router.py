"""Spherical router of SLER-IR (paper Sec. 3.2-3.3).

The router maps a degradation feature (the degradation CLIP's CLS token) to K
unit routing vectors, one per routable backbone layer, and gates C experts per
layer by cosine similarity to C expert centers on the unit hypersphere.

The centers are not learned by the optimizer. In stage 1 the restorer calls
:meth:`SphericalRouter.update_centers` after each training forward; it runs
our reading of the paper's "Monte Carlo-regularised uniform clustering":
one step of balanced spherical k-means on Monte Carlo samples of the routing
embeddings, followed by one repulsion step that spreads the centers.

The assignment is balanced per layer by default: every layer's embeddings
must spread over all C centers. Balancing the pooled rows of all layers
instead is met by sending whole layers to different centers, with every
image on the same expert at a layer (measured: 2 paths for 5 tasks).
"""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, broadcast, get_world_size
from torch import Tensor

from mmagic.registry import MODELS

from sler_ir_mm.utils import check_float_range, check_int
from .base_router import BaseRouter, RoutingResult, expert_counts

__all__ = ['RoutingResult', 'SphericalRouter']

BALANCE_MODES = ('per_layer', 'pooled')
# Bounds of a learnable temperature: below 0.01 the softmax is a hard arg-max
# with vanishing gradients; above 1 the softmax of cosines is nearly flat.
_MIN_TAU = 1e-2
_MAX_TAU = 1.0


@MODELS.register_module()
class SphericalRouter(BaseRouter):
    """Layer-wise expert router on the unit hypersphere.

    ``feat -> LayerNorm -> Linear -> GELU -> Linear -> (K, d) -> L2``;
    ``logits = cos(embedding, center) / tau``; ``probs = softmax(logits)``.

    Args:
        in_channels (int): Dimension of the degradation feature (e.g. 512
            for an open_clip ViT-B-32 CLS embedding).
        num_layers (int): Number K of routed backbone layers. Default: 8.
        num_experts (int): Number C of experts per layer. Default: 3.
        embed_dim (int): Dimension d of each routing vector. Default: 128.
        hidden_channels (int, optional): Hidden width of the MLP. Default:
            ``max(in_channels, num_layers * embed_dim // 2)``.
        temperature (float): Softmax temperature tau over the cosines
            (initial value when learnable). Default: 0.1.
        learnable_temperature (bool): Learn log(tau), clamped to
            [0.01, 1]. Default: False.
        per_layer_centers (bool): One set of C centers per layer (K x C x d)
            instead of C centers shared by all layers (C x d).
            Default: False.
        balance (str): Over which rows the clustering's assignment is
            balanced: ``'per_layer'`` (each layer's embeddings spread evenly
            over the centers; per-layer centers need it) or
            ``'pooled'`` (the rows of all layers together, the earlier
            behaviour). Default: 'per_layer'.
        queue_size (int): Rows of the FIFO memory of recent routing
            embeddings (per layer unless ``balance='pooled'`` with shared
            centers); 0 disables it. Default: 1024.
        queue_samples (int): Rows drawn at random from the memory at each
            center update, on top of the current batch. Default: 256.
        center_momentum (float): EMA momentum of the centers; 0 replaces
            them by the new cluster means. Default: 0.9.
        sinkhorn_iters (int): Sinkhorn-Knopp iterations of the balanced
            assignment. Default: 3.
        sinkhorn_epsilon (float): Entropic regularisation of the balanced
            assignment (smaller is harder). Default: 0.05.
        balance_strength (float): How strictly the assignment gives every
            center 1/C of the samples, in [0, 1]: 1 is an equal partition
            (Sinkhorn-Knopp), smaller values relax it (a KL-relaxed,
            "unbalanced" Sinkhorn step scaled by this factor), 0 is plain
            soft k-means. An equal partition of 5 tasks over 3 experts must
            split a task between two experts at every layer. Default: 1.0.
        uniformity_weight (float): Step size of the repulsion step on the
            centers; 0 disables it. Default: 0.1.
        uniformity_temperature (float): Sharpness of the log-sum-exp of
            pairwise center cosines (smaller focuses the push on the
            closest pair). Default: 0.1.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    # Unit routing vectors for L_HC; no degradation classes.
    classifies = False
    has_spherical_embeddings = True

    def __init__(self,
                 in_channels: int,
                 num_layers: int = 8,
                 num_experts: int = 3,
                 embed_dim: int = 128,
                 hidden_channels: Optional[int] = None,
                 temperature: float = 0.1,
                 learnable_temperature: bool = False,
                 per_layer_centers: bool = False,
                 balance: str = 'per_layer',
                 queue_size: int = 1024,
                 queue_samples: int = 256,
                 center_momentum: float = 0.9,
                 sinkhorn_iters: int = 3,
                 sinkhorn_epsilon: float = 0.05,
                 balance_strength: float = 1.0,
                 uniformity_weight: float = 0.1,
                 uniformity_temperature: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_int('in_channels', in_channels)
        check_int('num_layers', num_layers)
        check_int('num_experts', num_experts)
        check_int('embed_dim', embed_dim)
        if embed_dim < 2 and num_experts > 1:
            raise ValueError('embed_dim must be >= 2 to separate '
                             f'{num_experts} experts on the sphere')
        if hidden_channels is None:
            hidden_channels = max(in_channels, num_layers * embed_dim // 2)
        check_int('hidden_channels', hidden_channels)
        check_float_range(
            'temperature', temperature, 0.0, math.inf, low_open=True)
        if learnable_temperature:
            check_float_range('temperature (learnable)', temperature,
                              _MIN_TAU, _MAX_TAU)
        if balance not in BALANCE_MODES:
            raise ValueError(f'balance must be one of {BALANCE_MODES}, got '
                             f'{balance!r}')
        if per_layer_centers and balance == 'pooled':
            raise ValueError("balance='pooled' needs shared centers: "
                             'per-layer centers are balanced per layer')
        check_int('queue_size', queue_size, minimum=0)
        check_int('queue_samples', queue_samples, minimum=0)
        check_float_range('center_momentum', center_momentum, 0.0, 1.0)
        if center_momentum == 1.0:
            raise ValueError('center_momentum must be < 1, otherwise the '
                             'centers never move')
        check_int('sinkhorn_iters', sinkhorn_iters)
        check_float_range(
            'sinkhorn_epsilon', sinkhorn_epsilon, 0.0, math.inf,
            low_open=True)
        check_float_range('balance_strength', balance_strength, 0.0, 1.0)
        check_float_range('uniformity_weight', uniformity_weight, 0.0,
                          math.inf)
        check_float_range(
            'uniformity_temperature', uniformity_temperature, 0.0, math.inf,
            low_open=True)

        self.in_channels = in_channels
        self.num_layers = num_layers
        self.num_experts = num_experts
        self.embed_dim = embed_dim
        self.hidden_channels = hidden_channels
        self.learnable_temperature = learnable_temperature
        self.per_layer_centers = per_layer_centers
        self.balance = balance
        self.queue_size = queue_size
        self.queue_samples = queue_samples
        self.center_momentum = float(center_momentum)
        self.sinkhorn_iters = sinkhorn_iters
        self.sinkhorn_epsilon = float(sinkhorn_epsilon)
        self.balance_strength = float(balance_strength)
        self.uniformity_weight = float(uniformity_weight)
        self.uniformity_temperature = float(uniformity_temperature)

        # LayerNorm first: CLIP CLS features have an arbitrary scale.
        self.mlp = nn.Sequential(
            nn.LayerNorm(in_channels),
            nn.Linear(in_channels, hidden_channels),
            nn.GELU(),
            nn.Linear(hidden_channels, num_layers * embed_dim),
        )
        if learnable_temperature:
            self.log_temperature = nn.Parameter(
                torch.tensor(math.log(temperature)))
        else:
            self._fixed_temperature = float(temperature)

        # Centers, memory and the frozen flag are buffers: saved with the
        # checkpoint (exact resume, stage-2 routing reproduced at test time)
        # but never touched by the optimizer.
        groups = num_layers if per_layer_centers else 1
        centers = self._init_centers(groups)
        self.register_buffer(
            'centers', centers if per_layer_centers else centers[0])
        self.register_buffer(
            'queue', torch.zeros(self._row_groups, queue_size, embed_dim))
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('queue_len', torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------
    # initialisation
    # ------------------------------------------------------------------
    def _init_centers(self, groups: int) -> Tensor:
        """Well-spread unit centers, (groups, C, d), from torch's global RNG.

        With C <= d + 1 a regular simplex (pairwise cosine -1/(C-1), the
        optimum) randomly rotated into R^d; otherwise random directions
        spread by repulsion steps.
        """
        c, d = self.num_experts, self.embed_dim
        if c == 1:
            return F.normalize(torch.randn(groups, 1, d), dim=-1)
        if c <= d + 1:
            # The centred one-hot vectors of R^C form a regular simplex in
            # the (C-1)-dim hyperplane sum=0: express them in an orthonormal
            # basis of that hyperplane, then map it into R^d by a random
            # orthonormal frame.
            centred = torch.eye(c) - 1.0 / c
            _, eigvecs = torch.linalg.eigh(centred)
            simplex = F.normalize(eigvecs[:, 1:], dim=-1)  # (C, C-1)
            frame, _ = torch.linalg.qr(torch.randn(groups, d, c - 1))
            return F.normalize(simplex @ frame.transpose(1, 2), dim=-1)
        centers = F.normalize(torch.randn(groups, c, d), dim=-1)
        for _ in range(500):
            centers = self._repulsion_step(centers, 0.05)
        return centers

    # ------------------------------------------------------------------
    # state
    # ------------------------------------------------------------------
    @property
    def temperature(self) -> Tensor:
        """Current tau as a 0-dim tensor."""
        if self.learnable_temperature:
            return self.log_temperature.clamp(
                math.log(_MIN_TAU), math.log(_MAX_TAU)).exp()
        return self.centers.new_tensor(self._fixed_temperature)

    @property
    def _row_groups(self) -> int:
        """Groups of rows the clustering balances (and queues) apart."""
        return self.num_layers if self.balance == 'per_layer' else 1

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        # The queue is only the clustering's memory: one saved with another
        # balance mode (another number of row groups) is dropped, not an
        # error, so earlier checkpoints still load.
        key = prefix + 'queue'
        queue = state_dict.get(key)
        if queue is not None and queue.shape != self.queue.shape:
            state_dict = dict(state_dict)
            state_dict[key] = torch.zeros_like(self.queue)
            for name in ('queue_ptr', 'queue_len'):
                state_dict[prefix + name] = torch.zeros_like(
                    getattr(self, name))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _centers3d(self) -> Tensor:
        """Centers as (groups, C, d) whatever the sharing mode."""
        return self.centers if self.per_layer_centers else \
            self.centers.unsqueeze(0)

    # ------------------------------------------------------------------
    # routing
    # ------------------------------------------------------------------
    def forward(self, feat: Tensor) -> RoutingResult:
        """Route a batch.

        Args:
            feat (Tensor): (B, in_channels) degradation features.

        Returns:
            RoutingResult: embeddings (B, K, d), logits and probs
            (B, K, C), all fp32 (also under AMP), indices (B, K).
        """
        if feat.dim() != 2 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'feat must have shape (B, {self.in_channels}), '
                f'got {tuple(feat.shape)}')
        emb = self.mlp(feat).view(feat.shape[0], self.num_layers,
                                  self.embed_dim)
        # The gating head is tiny: keep it in fp32 under AMP so that the
        # cosines / tau (up to 1 / tau in size) and the arg-max are exact.
        with torch.autocast(feat.device.type, enabled=False):
            emb = F.normalize(emb.float(), dim=-1)
            centers = F.normalize(self._centers3d().float(), dim=-1)
            if self.per_layer_centers:
                cos = torch.einsum('bkd,kcd->bkc', emb, centers)
            else:
                cos = torch.einsum('bkd,cd->bkc', emb, centers[0])
            logits = cos / self.temperature.float()
            probs = logits.softmax(dim=-1)
        indices = logits.argmax(dim=-1)
        return RoutingResult(emb, logits, probs, indices)

    # ------------------------------------------------------------------
    # Monte Carlo-regularised uniform clustering (stage 1)
    # ------------------------------------------------------------------
    @torch.no_grad()
    def update_centers(self, embeddings: Tensor) -> None:
        """One clustering step of the centers on a batch of embeddings.

        A no-op when frozen or in eval mode. Steps: (a) Monte Carlo samples =
        this batch's rows + a random subset of the memory queue; (b) balanced
        soft assignment by Sinkhorn-Knopp on their cosine to the centers,
        per layer (``balance='per_layer'``) or over the rows of all layers;
        (c) EMA of the centers towards the normalised assignment-weighted
        means (for shared centers, summed over the layers); (d) one
        repulsion step on the log-sum-exp of pairwise center cosines; then
        the batch is pushed into the queue.

        Args:
            embeddings (Tensor): (B, K, d) routing vectors of the batch
                (as returned by :meth:`forward`; detached here).
        """
        if self.frozen or not self.training:
            return
        if embeddings.dim() != 3 or embeddings.shape[1:] != (
                self.num_layers, self.embed_dim):
            raise ValueError(
                'embeddings must have shape (B, '
                f'{self.num_layers}, {self.embed_dim}), '
                f'got {tuple(embeddings.shape)}')
        # Clustering runs in fp32 even when called inside an AMP context.
        with torch.autocast(embeddings.device.type, enabled=False):
            self._update_centers(embeddings.detach().float())

    def _update_centers(self, embeddings: Tensor) -> None:
        emb = _gather_across_ranks(F.normalize(embeddings, dim=-1))
        # Rows grouped by balanced assignment: (K, N, d) or (1, K * N, d).
        if self.balance == 'per_layer':
            rows = emb.transpose(0, 1)
        else:
            rows = emb.reshape(1, -1, self.embed_dim)

        centers = F.normalize(self._centers3d().float(), dim=-1)
        samples = torch.cat([rows, self._sample_queue(rows.device)], dim=1)
        # Fewer samples than experts cannot be split evenly: keep the
        # clustering for later and only spread the centers.
        if samples.shape[1] >= self.num_experts:
            # (groups, N', C): shared centers broadcast over the layers.
            assign = self._sinkhorn(samples @ centers.transpose(1, 2))
            sums = assign.transpose(1, 2) @ samples  # (groups, C, d)
            if not self.per_layer_centers:
                sums = sums.sum(0, keepdim=True)
            means = F.normalize(sums, dim=-1)
            centers = F.normalize(
                self.center_momentum * centers +
                (1.0 - self.center_momentum) * means,
                dim=-1)
        if self.uniformity_weight > 0 and self.num_experts > 1:
            centers = self._repulsion_step(centers, self.uniformity_weight)

        centers = _broadcast_from_rank0(centers)
        self.centers.copy_(centers if self.per_layer_centers else centers[0])
        self._enqueue(rows)
        # The center_* statistics: this batch's nearest centers under the
        # updated centers, (N, K) -> (K, C).
        nearest = (emb.transpose(0, 1) @ centers.transpose(1, 2)).argmax(-1)
        self._center_counts = expert_counts(nearest.t(), self.num_experts)

    def _sample_queue(self, device: torch.device) -> Tensor:
        """Random subset of the valid queue rows, (groups, m, d)."""
        valid = int(self.queue_len)
        num = min(self.queue_samples, valid)
        if num == 0:
            return self.queue.new_zeros(self.queue.shape[0], 0,
                                        self.embed_dim).to(device)
        # Global RNG so that MMEngine's seeding makes the draw reproducible.
        idx = torch.randperm(valid)[:num].to(self.queue.device)
        return self.queue.index_select(1, idx).float().to(device)

    def _enqueue(self, rows: Tensor) -> None:
        """FIFO write of (groups, N, d) rows into the ring buffer."""
        size = self.queue_size
        if size == 0:
            return
        rows = rows[:, -size:]  # only the newest rows can survive
        num = rows.shape[1]
        idx = (int(self.queue_ptr) + torch.arange(num)) % size
        self.queue[:, idx.to(self.queue.device)] = rows.to(self.queue.dtype)
        self.queue_ptr.fill_((int(self.queue_ptr) + num) % size)
        self.queue_len.fill_(min(int(self.queue_len) + num, size))

    def _sinkhorn(self, sim: Tensor) -> Tensor:
        """Balanced soft assignment of (groups, N, C) similarities.

        Log-domain Sinkhorn-Knopp: alternately give every center 1/C of the
        mass and every sample 1/N; returns weights whose rows sum to 1. With
        ``balance_strength`` < 1 the center step goes only that fraction of
        the way (log domain), the KL-relaxed marginal of unbalanced optimal
        transport.
        """
        num = sim.shape[1]
        log_p = sim / self.sinkhorn_epsilon
        log_c = math.log(self.num_experts)
        log_n = math.log(num)
        strength = self.balance_strength
        for _ in range(self.sinkhorn_iters):
            log_p = log_p - strength * (
                torch.logsumexp(log_p, 1, keepdim=True) + log_c)
            log_p = log_p - torch.logsumexp(log_p, 2, keepdim=True) - log_n
        return (log_p + log_n).exp()

    def _repulsion_step(self, centers: Tensor, step: float) -> Tensor:
        """Gradient step on E = t * logsumexp_{i!=j}(cos_ij / t), then L2.

        The gradient is taken analytically and projected on the tangent
        space so the step only rotates the centers.
        """
        num = centers.shape[1]
        if num < 2:
            return centers
        t = self.uniformity_temperature
        cos = centers @ centers.transpose(1, 2)  # (groups, C, C)
        eye = torch.eye(num, dtype=torch.bool, device=centers.device)
        logits = (cos / t).masked_fill(eye, float('-inf'))
        weights = logits.flatten(1).softmax(-1).view_as(cos)
        # dE/dc_i = sum_j (w_ij + w_ji) c_j; w is symmetric.
        grad = 2.0 * weights @ centers
        grad = grad - (grad * centers).sum(-1, keepdim=True) * centers
        return F.normalize(centers - step * grad, dim=-1)

    # ------------------------------------------------------------------
    # logging
    # ------------------------------------------------------------------
    @torch.no_grad()
    def routing_stats(self) -> Dict[str, Tensor]:
        """Statistics for the training log, as 0-dim float tensors.

        Returns:
            dict: ``min_center_angle`` (degrees; min over layers with
            per-layer centers; 180 for a single expert), and the
            :meth:`~BaseRouter.assignment_stats`: ``route_*`` of the last
            training forward, ``center_*`` of the last center update.
        """
        centers = F.normalize(self._centers3d().float(), dim=-1)
        num = self.num_experts
        if num > 1:
            cos = centers @ centers.transpose(1, 2)
            eye = torch.eye(num, dtype=torch.bool, device=cos.device)
            max_cos = cos.masked_fill(eye, -1.0).amax().clamp(-1.0, 1.0)
            min_angle = torch.rad2deg(torch.acos(max_cos))
        else:
            min_angle = centers.new_tensor(180.0)
        return dict(min_center_angle=min_angle,
                    **self.assignment_stats(centers.device))

    def extra_repr(self) -> str:
        return (f'num_layers={self.num_layers}, '
                f'num_experts={self.num_experts}, '
                f'embed_dim={self.embed_dim}, '
                f'per_layer_centers={self.per_layer_centers}, '
                f'balance={self.balance!r}')


def _gather_across_ranks(emb: Tensor) -> Tensor:
    """Concatenate (B_r, K, d) embeddings of all ranks (B_r may differ).

    Every rank then clusters the same samples and keeps the same queue.
    """
    if get_world_size() <= 1:
        return emb
    size = torch.tensor([emb.shape[0]], device=emb.device)
    sizes = [int(s) for s in all_gather(size)]
    padded = emb.new_zeros(max(sizes), *emb.shape[1:])
    padded[:emb.shape[0]] = emb
    parts = all_gather(padded)
    return torch.cat([p[:n] for p, n in zip(parts, sizes)], dim=0)


def _broadcast_from_rank0(centers: Tensor) -> Tensor:
    """Make the centers identical on all ranks (the queue draw may differ)."""
    if get_world_size() > 1:
        centers = centers.contiguous()
        broadcast(centers, src=0)
    return centers
