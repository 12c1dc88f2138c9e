"""Inference time of SLER-IR against MMagic's Restormer, in one process.

For each input size it times MMagic ``Restormer`` (same backbone dims) and
SLER-IR with ViT-B-32-sized CLIP towers (random weights: only the shapes
matter for time), and prints the ratio and the split of SLER-IR's time into
encoder towers, GLGF (prior + injection into the backbone) and backbone.
Runs are interleaved (baseline, routed backbone, each variant, per round)
and each time is the fastest of its rounds, the least disturbed on a shared
machine; ``--verbose`` prints every run.

``--mixed-batch N`` also times the routed backbone on a batch of N images
that take N different routes (every layer mixes experts) against a batch of
N images on one route, per image.

Variants:
  clip2    separate content and degradation CLIP towers (the paper's setup)
  clip1    one CLIP tower serving both sides
  daclip   DA-CLIP (frozen tower + controller) serving both sides

Example::

    python tools/analysis_tools/benchmark_inference.py --sizes 256 512
"""
import argparse
import statistics
import time
from typing import Optional

import sler_ir_mm  # noqa: F401,I001  (runtime fixes before mmagic)
import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

from sler_ir_mm.models.restorers.sler_restorer import pad_to_multiple
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main

BACKBONE = dict(
    dim=48,
    num_blocks=(4, 6, 6, 8),
    num_refinement_blocks=4,
    heads=(1, 2, 4, 8),
    ffn_expansion_factor=2.66,
    bias=False,
    LayerNorm_type='WithBias')


def clip_cfg(kind: str) -> dict:
    return dict(type=kind, model_name='ViT-B-32', random_init=True)


def sler_ir(variant: str,
            num_experts: int = 3,
            route_tile_size: Optional[int] = 128) -> torch.nn.Module:
    degradation = clip_cfg(
        'DACLIPEncoder' if variant == 'daclip' else 'CLIPImageEncoder')
    content = clip_cfg('CLIPImageEncoder') if variant == 'clip2' else None
    return MODELS.build(
        dict(
            type='SLERRestorer',
            generator=dict(type='SLERNet', num_experts=num_experts,
                           **BACKBONE),
            router=dict(type='SphericalRouter', embed_dim=128),
            degradation_encoder=degradation,
            content_encoder=content,
            glgf=dict(type='GLGF', inject_heads=(1, 2, 4, 8, 4, 2, 1, 1)),
            pixel_loss=dict(type='L1Loss'),
            route_tile_size=route_tile_size,
            test_cfg=dict(routing='hard'),
            data_preprocessor=dict(
                type='DataPreprocessor', mean=[0.] * 3,
                std=[255.] * 3))).eval()


def wall(fn, sync) -> float:
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


@torch.no_grad()
def injection_time(model, x: torch.Tensor, sync, repeat: int = 3) -> float:
    """GLGF's injection into all routed layers, on features of the real
    shapes (recorded from one backbone pass)."""
    encoded = model.encode(x)
    routed = model.route_encoded(encoded)
    padded, _ = pad_to_multiple(x, model.pad_multiple)
    feats = []
    model.generator(
        padded, routed.indices,
        feature_hook=lambda layer, feat: feats.append((layer, feat)) or feat)
    prior, grid_hw = encoded.prior, encoded.grid_hw

    def inject_all():
        for layer, feat in feats:
            model.glgf.inject(layer, feat, prior, grid_hw)

    inject_all()
    return statistics.median(wall(inject_all, sync) for _ in range(repeat))


@torch.no_grad()
def part_times(model, x: torch.Tensor, sync, repeat: int = 3) -> dict:
    """Encoder towers and GLGF's prior (short: timed apart, median)."""
    b, grid = x.size(0), model.glgf.crop_grid
    degradation, content = model.run_encoders(x)
    glgf_inputs = (content.cls[:b], content.tokens[:b],
                   degradation.cls[b:].view(b, grid * grid, -1),
                   tuple((model.content_encoder
                          or model.degradation_encoder).grid_size))

    def median(fn):
        fn()
        return statistics.median(wall(fn, sync) for _ in range(repeat))

    return dict(
        towers=median(lambda: model.run_encoders(x)),
        prior=median(lambda: model.glgf(*glgf_inputs)))


@torch.no_grad()
def mixed_batch(model, batch: int, size: int, repeat: int, device,
                sync) -> float:
    """Per-image time of the routed backbone on ``batch`` images with
    ``batch`` different routes over one route; prints and returns the
    ratio (fastest of ``repeat`` interleaved rounds)."""
    layers = len(model.generator.routed_layers)
    experts = model.generator.num_experts
    x = torch.rand(batch, 3, size, size, device=device)
    padded, _ = pad_to_multiple(x, model.pad_multiple)
    same = torch.zeros(batch, layers, dtype=torch.long)
    # Image i takes expert (i + layer) % C: every layer mixes experts.
    mixed = (torch.arange(batch)[:, None] +
             torch.arange(layers)[None]) % experts
    runs = {'same': lambda: model.generator(padded, same),
            'mixed': lambda: model.generator(padded, mixed)}
    times = {name: [] for name in runs}
    for fn in runs.values():
        wall(fn, sync)
    for _ in range(repeat):
        for name, fn in runs.items():
            times[name].append(wall(fn, sync))
    ratio = min(times['mixed']) / min(times['same'])
    print(f'\nrouted backbone, batch of {batch} at {size}x{size}: one route '
          f'{min(times["same"]) / batch:.3f} s per image, {batch} routes '
          f'{min(times["mixed"]) / batch:.3f} s per image, ratio '
          f'{ratio:.3f}')
    return ratio


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=TRACEBACK_EPILOG)
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 512])
    parser.add_argument('--variants', nargs='+',
                        default=['clip2', 'clip1', 'daclip'],
                        choices=['clip2', 'clip1', 'daclip'])
    parser.add_argument('--repeat', type=int, default=3,
                        help='interleaved timing rounds; times are the '
                        'fastest run of each')
    parser.add_argument('--verbose', action='store_true',
                        help='print every run and per-round ratios')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument(
        '--route-tile-size', type=int, default=128,
        help='routing tile side, as the shipped configs (training patch '
        'size); 0 routes on the whole image')
    parser.add_argument(
        '--mixed-batch', type=int, default=0, metavar='N',
        help='also time the routed backbone on N images with N different '
        'routes against N images on one route (per image)')
    parser.add_argument('--mixed-size', type=int, default=128,
                        help='image side for --mixed-batch')
    args = parser.parse_args(argv)
    if args.mixed_batch == 1 or args.mixed_batch < 0:
        parser.error('--mixed-batch must be 0 (off) or >= 2')
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmagic')
    torch.manual_seed(0)
    device = torch.device(args.device)
    sync = (torch.cuda.synchronize if device.type == 'cuda' else
            (lambda: None))

    restormer = MODELS.build(dict(type='Restormer', **BACKBONE)).eval()
    tile = args.route_tile_size or None
    models = {v: sler_ir(v, route_tile_size=tile).to(device)
              for v in args.variants}
    restormer.to(device)
    print(f'device: {device}, threads: {torch.get_num_threads()}, '
          f'torch {torch.__version__}, routing tiles {tile}')
    rows = []
    for index, size in enumerate(args.sizes):
        x = torch.rand(1, 3, size, size, device=device)
        any_model = next(iter(models.values()))
        routes = any_model.route(x).indices
        padded, _ = pad_to_multiple(x, any_model.pad_multiple)
        contenders = {'restormer': lambda: restormer(x),
                      'backbone': lambda: any_model.generator(padded, routes)}
        contenders.update({
            v: (lambda m=m: m.forward_tensor(x)) for v, m in models.items()})
        times = {name: [] for name in contenders}
        with torch.no_grad():
            if index == 0:  # warm-up: allocator, thread pool, caches
                for fn in contenders.values():
                    wall(fn, sync)
            # Interleaved rounds, so that drifts of the machine's speed hit
            # the baseline and the contenders alike; ratios per round.
            for _ in range(args.repeat):
                for name, fn in contenders.items():
                    times[name].append(wall(fn, sync))

        def ratio(name):
            """Fastest run over fastest baseline run: the least disturbed
            pair on a shared machine (the median of per-round ratios is
            printed with --verbose)."""
            return min(times[name]) / min(times['restormer'])

        if args.verbose:
            for name, values in times.items():
                per_round = [t / b for t, b in zip(values,
                                                   times['restormer'])]
                print(f'  [{size}] {name:9s} runs ' +
                      ' '.join(f'{t:.3f}' for t in values) +
                      '  per-round ratios ' +
                      ' '.join(f'{r:.3f}' for r in per_round) +
                      f'  median {statistics.median(per_round):.3f}')

        base = min(times['restormer'])
        injection = injection_time(any_model, x, sync)
        print(f'\n{size}x{size}: MMagic Restormer {base:.3f} s; routed '
              f'backbone (no GLGF) {min(times["backbone"]):.3f} s, ratio '
              f'{ratio("backbone"):.3f}; GLGF injection into 8 layers '
              f'{injection:.3f} s')
        for variant, model in models.items():
            parts = part_times(model, x, sync)
            parts['total'] = min(times[variant])
            parts['glgf'] = parts['prior'] + injection
            parts['backbone'] = max(
                parts['total'] - parts['towers'] - parts['glgf'], 0.)
            rows.append((size, variant, base, parts, ratio(variant)))
            print(f'  {variant:7s} total {parts["total"]:.3f} s  ratio '
                  f'{ratio(variant):.3f} | towers {parts["towers"]:.3f} s, '
                  f'GLGF {parts["glgf"]:.3f} s (prior {parts["prior"]:.4f}),'
                  f' backbone + rest {parts["backbone"]:.3f} s')
    if args.mixed_batch:
        mixed_batch(next(iter(models.values())), args.mixed_batch,
                    args.mixed_size, args.repeat, device, sync)
    # estimate: (Restormer + towers + GLGF) / Restormer, from the short,
    # separately timed overheads; steadier than the whole-model ratio on a
    # machine whose speed drifts (the routed backbone on one route runs
    # exactly Restormer's operations).
    print('\n| size | variant | Restormer (s) | SLER-IR (s) | ratio | towers '
          '(s) | GLGF (s) | backbone + rest (s) | estimate |')
    print('|---|---|---|---|---|---|---|---|---|')
    for size, variant, base, p, ratio in rows:
        estimate = (base + p['towers'] + p['glgf']) / base
        print(f'| {size} | {variant} | {base:.2f} | {p["total"]:.2f} | '
              f'{ratio:.3f} | {p["towers"]:.2f} | {p["glgf"]:.2f} | '
              f'{p["backbone"]:.2f} | {estimate:.3f} |')


if __name__ == '__main__':
    run_main(main)
