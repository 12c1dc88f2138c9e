"""End-to-end learning of the smallest SLER-IR (issue 16).

A tiny SLERRestorer (dim-8 SLERNet, 3 experts per layer, a small
``ConvDegradationEncoder``) trains in-process with ``model.train_step`` and
an ``OptimWrapper`` (the calls MMEngine's loop makes, without a runner) on
synthetic 16 x 16 patches drawn afresh for every batch:

- it learns to restore along the right route: on two degradations that
  need opposite corrections (brightness shifted up or down) the training
  loss falls, the restored held-out images are much closer to the clean
  ones than the inputs are (PSNR), and restoring them along the other
  degradation's route instead is much worse than the input (one shared
  path, e.g. an output bias, could not pass this);
- the router learns to tell degradations apart: trained in stage 1 with
  the contrastive loss and per-layer centers balanced per layer (as
  ``configs/sler_ir_mini_5task.py`` sets them), it sends three easily told
  apart degradations (darkening, strong noise, a blue colour cast) along
  three different main paths on held-out samples.

Each test runs in well under a minute on one thread.
"""
from collections import Counter

import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper

PATCH = 16


def tiny_sler_ir(**kwargs):
    """The smallest SLER-IR: what tests/test_models/.../test_sler_restorer.py
    calls ``tiny_restorer``, with the encoder's views at the patch size."""
    cfg = dict(
        type='SLERRestorer',
        generator=dict(
            type='SLERNet',
            dim=8,
            num_blocks=(1, 1, 1, 1),
            num_refinement_blocks=1,
            heads=(1, 1, 2, 2),
            num_experts=3),
        router=dict(type='SphericalRouter', embed_dim=16),
        degradation_encoder=dict(
            type='ConvDegradationEncoder',
            channels=(8, 16),
            embed_dim=32,
            image_size=PATCH),
        pixel_loss=dict(type='L1Loss', loss_weight=1.0),
        contrastive_loss=dict(
            type='HypersphericalContrastiveLoss', margin=0.5,
            loss_weight=1.0),
        data_preprocessor=dict(
            type='DataPreprocessor', mean=[0., 0., 0.],
            std=[255., 255., 255.]))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def clean_patches(num, gen):
    """Smooth random colour patches in [0.3, 0.9]."""
    coarse = torch.rand(num, 3, 4, 4, generator=gen)
    img = F.interpolate(
        coarse, size=(PATCH, PATCH), mode='bicubic', align_corners=False)
    return (0.3 + 0.6 * img).clamp(0, 1)


def degrade(clean, kind, gen):
    if kind == 'down':  # brightness shifted down, never clipped
        return clean - 0.25
    if kind == 'up':  # brightness shifted up, not clipped either
        return clean + 0.25
    if kind == 'dark':
        return clean * 0.35
    if kind == 'noise':  # strong Gaussian noise, sigma 0.3 (76 / 255)
        return (clean + 0.3 * torch.randn(clean.shape, generator=gen)).clamp(
            0, 1)
    if kind == 'cast':  # a blue cast: red and green scaled down
        return clean * torch.tensor([0.4, 0.7, 1.0]).view(1, 3, 1, 1)
    raise ValueError(kind)


def draw(kinds, per_kind, gen):
    """Degraded inputs, clean targets and labels, ``per_kind`` of each."""
    inputs, targets, labels = [], [], []
    for label, kind in enumerate(kinds):
        clean = clean_patches(per_kind, gen)
        inputs.append(degrade(clean, kind, gen))
        targets.append(clean)
        labels += [label] * per_kind
    return torch.cat(inputs), torch.cat(targets), labels


def as_batch(inputs, targets, labels):
    """What a dataloader + PackInputs give train_step: 0-255 images."""
    return dict(
        inputs=inputs * 255,
        data_samples=[
            DataSample(gt_img=gt * 255,
                       metainfo=dict(degradation_label=label))
            for gt, label in zip(targets, labels)
        ])


def train(model, kinds, per_kind, steps, lr, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=lr))
    model.train()
    logs = []
    for _ in range(steps):
        logs.append(
            model.train_step(as_batch(*draw(kinds, per_kind, gen)), wrapper))
    return logs


def psnr(img, ref):
    return float(10 * torch.log10(1 / F.mse_loss(img.clamp(0, 1), ref)))


SHIFTS = ['up', 'down']


def test_training_lowers_the_loss_and_beats_the_input():
    """60 steps in stage 1 (soft routing, contrastive loss, per-layer
    centers as the mini config sets them), 60 in stage 2 (hard routing,
    routing path frozen) on brightness shifted up or down by 0.25: each
    shift needs its own route. Seeds 0-2: 34-40 dB along the own route,
    7-9 dB along the other's; with hard routing that ignores the route, or
    a router blind to the image, both routes give about 34.5 dB."""
    torch.manual_seed(0)
    model = tiny_sler_ir(
        router=dict(type='SphericalRouter', embed_dim=16,
                    per_layer_centers=True, balance='per_layer'))
    logs = train(model, SHIFTS, per_kind=4, steps=60, lr=3e-3, seed=0)
    model.enter_stage2()
    logs += train(model, SHIFTS, per_kind=4, steps=60, lr=3e-3, seed=1)
    losses = torch.tensor([log['loss_pix'].item() for log in logs])
    assert torch.isfinite(losses).all()
    # The first loss is about the shift (an L1 of 0.25): the backbone starts
    # near the identity (Restormer's global residual).
    assert losses[0] > 0.15
    assert losses[-20:].mean() < 0.3 * losses[:5].mean(), losses[::20]

    model.eval()  # stage 2: hard routes
    gen = torch.Generator().manual_seed(99)
    held_out = {kind: draw([kind], 16, gen)[:2] for kind in SHIFTS}
    with torch.no_grad():
        routes = {kind: model.route(degraded).indices
                  for kind, (degraded, _) in held_out.items()}
        for kind, (degraded, gt) in held_out.items():
            other = routes[SHIFTS[1 - SHIFTS.index(kind)]]
            # Each shift keeps to one route, the other shift's differs.
            assert (routes[kind] == routes[kind][0]).all(), kind
            assert not torch.equal(routes[kind][0], other[0])
            restored = model(degraded, mode='tensor')
            misrouted = model.restore_with_route(
                degraded, other[:1].expand_as(routes[kind]))
            before = psnr(degraded, gt)
            after, wrong = psnr(restored, gt), psnr(misrouted, gt)
            assert before < 13  # 20 log10(1 / 0.25) = 12.04, less clipped
            assert after > before + 6, (kind, before, after)
            assert after > wrong + 10, (kind, after, wrong)


TASKS = ['dark', 'noise', 'cast']


def main_paths(model, gen, per_kind=16):
    """Each degradation's most common route on held-out samples, and its
    share of them."""
    model.eval()
    out = {}
    with torch.no_grad():
        for kind in TASKS:
            degraded = degrade(clean_patches(per_kind, gen), kind, gen)
            routes = Counter(
                tuple(r.tolist()) for r in model.route(degraded).indices)
            path, count = routes.most_common(1)[0]
            out[kind] = (path, count / per_kind)
    return out


def test_router_gives_each_degradation_its_own_path():
    """Seeds 0-4 all pass (checked when this test was written; the one
    kept is 0). A harder set-up was flaky: with an additive cast (red
    +0.25, blue -0.25), noise of sigma 0.2 and lr 2e-3, seed 0 still sent
    noise and cast along one path after 100 steps (L_HC stuck at
    margin / 3: two classes merged, where the hinge gives no gradient)."""
    torch.manual_seed(0)
    # Per-layer centers, balanced per layer, as the mini config routes.
    model = tiny_sler_ir(
        router=dict(type='SphericalRouter', embed_dim=16,
                    per_layer_centers=True, balance='per_layer'))
    logs = train(model, TASKS, per_kind=4, steps=80, lr=5e-3, seed=0)
    # Stage 1 with the contrastive loss, which falls from about the margin
    # (every class on top of every other) to about 0 (all apart).
    assert model.stage == 1
    hc = torch.tensor([log['loss_hc'].item() for log in logs])
    assert hc[0] > 0.4 and hc[-10:].mean() < 0.05, hc[::10]
    paths = main_paths(model, torch.Generator().manual_seed(99))
    assert len({path for path, _ in paths.values()}) == 3, paths
    # And each main path is the route of most of its degradation's samples.
    assert all(share >= 0.5 for _, share in paths.values()), paths
