"""Training-step and inference time of a config's model against its
baseline, in one process, on synthetic data of the real sizes.

Builds the models of two configs (by default the 5-task SLER-IR config and
its Restormer baseline; a CLIP/DA-CLIP ``checkpoint`` is replaced by random
weights of the same shapes, which is all that matters for time), then
times, interleaved and each the fastest of ``--rounds``:

* a training step (forward, L1 (+ L_HC in stage 1), backward, Adam) at each
  stage's batch size and the config's patch size (stage 1: probabilistic
  routing, all experts; stage 2: one expert per image, frozen router);
* inference of one image at each ``--sizes`` (stage-2 routing).

Prints a Markdown table with both models' times and their ratio. Made for a
GPU (``--device cuda``, with ``torch.cuda.synchronize`` around each
timing); it runs on CPU too, slowly at full size.

Example::

    python tools/analysis_tools/benchmark_train_step.py --device cuda \\
        --sizes 256 1024
"""
import argparse
import copy
import time
import warnings
from typing import Callable, Dict, List

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

import sler_ir_mm  # noqa: F401,E402,I001  (runtime fixes before mmagic)
import torch  # noqa: E402
from mmagic.registry import MODELS  # noqa: E402
from mmagic.structures import DataSample  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.optim import OptimWrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from sler_ir_mm.models.encoders.encoder_recipe import (  # noqa: E402
    ENCODER_TYPE)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

NUM_TASKS = 5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Training-step and inference time of a config\'s model '
        'against its baseline',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('--config', default='configs/sler_ir_5task.py')
    parser.add_argument(
        '--baseline', default='configs/restormer/restormer_5task.py')
    parser.add_argument(
        '--sizes', type=int, nargs='*', default=[256, 1024],
        help='inference image sizes (square); none: training steps only')
    parser.add_argument(
        '--patch', type=int, help='training patch size (default: the '
        'config\'s PairedRandomCrop gt_patch_size)')
    parser.add_argument(
        '--batch-sizes', type=int, nargs=2, metavar=('STAGE1', 'STAGE2'),
        help='training batch sizes (default: the config\'s)')
    parser.add_argument('--steps', type=int, default=5,
                        help='timed training steps per round')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    for name in ('steps', 'rounds'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1')
    if any(s < 1 for s in args.sizes):
        parser.error(f'--sizes must be >= 1, got {args.sizes}')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available')
    return args


def random_weights(cfg: dict) -> dict:
    """The model config with every encoder ``checkpoint`` replaced by
    random weights of the same architecture; a pretrained encoder's recipe
    by its tower, frozen, with random weights (timing needs no
    pretraining)."""
    cfg = copy.deepcopy(cfg)
    for key in ('degradation_encoder', 'content_encoder'):
        enc = cfg.get(key)
        if enc and enc.get('type') == ENCODER_TYPE:
            tower = {k: v for k, v in enc['recipe']['encoder'].items()
                     if k != 'checkpoint'}
            cfg[key] = dict(tower, random_init=True, frozen=True)
        elif enc and enc.get('checkpoint'):
            enc.pop('checkpoint')
            enc['random_init'] = True
    return cfg


def training_budget(cfg: Config) -> tuple:
    """(patch size, stage-1 batch, stage-2 batch) of a config."""
    patch = None
    dataset = cfg.train_dataloader.dataset
    for ds in dataset.get('datasets', [dataset]):
        ds = ds.get('dataset', ds)  # a wrapper's inner dataset
        for t in ds.get('pipeline', []):
            if t.get('type') == 'PairedRandomCrop':
                patch = int(t['gt_patch_size'])
    stage1 = int(cfg.train_dataloader.batch_size)
    stage2 = stage1
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'RoutingStageSwitchHook':
            stage2 = int(hook.get('train_batch_size') or stage1)
    return patch, stage1, stage2


def synthetic_batch(batch: int, size: int, device) -> dict:
    """A batch as the data loader gives it: 0-255 images and labels of all
    tasks in turn (a mixed-degradation batch)."""
    gen = torch.Generator().manual_seed(batch * 1000 + size)
    inputs = torch.rand(batch, 3, size, size, generator=gen) * 255
    gts = torch.rand(batch, 3, size, size, generator=gen) * 255
    samples = [
        DataSample(gt_img=gts[i], metainfo=dict(degradation_label=i %
                                                NUM_TASKS))
        for i in range(batch)
    ]
    return dict(inputs=list(inputs.to(device)), data_samples=samples)


def timer(device: torch.device) -> Callable[[Callable], float]:

    def wall(fn: Callable) -> float:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    return wall


def report(row: dict) -> None:
    print(f'{row["what"]}: baseline {row["baseline"] * 1e3:.1f} ms, model '
          f'{row["model"] * 1e3:.1f} ms, ratio '
          f'{row["model"] / row["baseline"]:.2f}', flush=True)


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    device = torch.device(args.device)
    init_default_scope('mmagic')
    torch.manual_seed(0)
    wall = timer(device)
    cfgs = {'model': Config.fromfile(args.config),
            'baseline': Config.fromfile(args.baseline)}
    patch, batch1, batch2 = training_budget(cfgs['model'])
    patch = args.patch or patch or 128
    if args.batch_sizes:
        batch1, batch2 = args.batch_sizes
    models, wrappers = {}, {}
    for name, cfg in cfgs.items():
        model = MODELS.build(random_weights(cfg.model)).to(device)
        models[name] = model
        params = [p for p in model.parameters() if p.requires_grad]
        wrappers[name] = OptimWrapper(torch.optim.Adam(params, lr=2e-4))
    print(f'device: {device} '
          f'({torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"}), '  # noqa: E501
          f'torch {torch.__version__}; training patch {patch}, batches '
          f'{batch1} (stage 1) and {batch2} (stage 2)')

    def train(name: str, data: dict, steps: int) -> Callable:
        def run():
            for _ in range(steps):
                models[name].train_step(data, wrappers[name])
        return run

    rows = []
    for stage, batch in ((1, batch1), (2, batch2)):
        if stage == 2:
            for model in models.values():
                if hasattr(model, 'enter_stage2'):
                    model.enter_stage2()
        for model in models.values():
            model.train()
        data = synthetic_batch(batch, patch, device)
        for name in models:  # warm-up: allocator, kernels, caches
            wall(train(name, data, 1))
        times: Dict[str, List[float]] = {name: [] for name in models}
        for _ in range(args.rounds):
            for name in models:
                times[name].append(
                    wall(train(name, data, args.steps)) / args.steps)
        rows.append(
            dict(what=f'train step, stage {stage}, batch {batch} x {patch}^2',
                 **{n: min(t) for n, t in times.items()}))
        report(rows[-1])
    for model in models.values():
        model.eval()
    for size in args.sizes:
        x = torch.rand(1, 3, size, size, device=device)
        fns = {name: (lambda m=m: m.forward(x, mode='tensor'))
               for name, m in models.items()}
        times = {name: [] for name in models}
        with torch.no_grad():
            for fn in fns.values():
                wall(fn)
            for _ in range(args.rounds):
                for name, fn in fns.items():
                    times[name].append(wall(fn))
        rows.append(dict(what=f'inference {size} x {size}, 1 image',
                         **{n: min(t) for n, t in times.items()}))
        report(rows[-1])
    model_name = args.config.rsplit('/', 1)[-1]
    base_name = args.baseline.rsplit('/', 1)[-1]
    print(f'\n| | {base_name} (ms) | {model_name} (ms) | ratio |')
    print('|---|---|---|---|')
    for row in rows:
        print(f'| {row["what"]} | {row["baseline"] * 1e3:.1f} | '
              f'{row["model"] * 1e3:.1f} | '
              f'{row["model"] / row["baseline"]:.2f} |')
    return rows


if __name__ == '__main__':
    run_main(main)
