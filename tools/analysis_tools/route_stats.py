"""Which expert routes a SLER-IR checkpoint takes, per task, on the test
sets and on training patches.

Runs the model's router over every test set of the config
(``test_dataloader``, a dict or a list) and over a fixed probe of training
patches (``--train-per-task`` per task, drawn through the training pipeline
under a fixed seed) and reports:

- per test set: the distinct routes ("paths", the expert index at each of
  the K routed layers) with the most common ones, the share of the set on
  its most common path (purity) and each layer's expert usage;
- per task, test images next to training patches: the main path, its
  purity and whether both splits take the same path; per split how many
  distinct paths the tasks' main paths are, the normalised mutual
  information of path and task, the per-layer (not pooled) expert balance
  and the mean cosine of the routing vectors between and within tasks;
- the angles between the router's expert centers;
- for each composite test set (task name 'a+b', 'a+b+c'): how its images
  follow each component's reference path (the most common expert per layer
  on the component's single-task test images), layer by layer and image by
  image, and the share of hybrid images (see
  ``sler_ir_mm.evaluation.composite_routes``).

Prints the Markdown tables and writes ``route_stats.json`` (with every
image's route), ``route_stats.md``, ``route_stats.png`` (heat map of expert
usage per test set), ``route_cosine.png`` (the task-pair cosine
matrices) and, per composite set, ``route_composite_<task>.png`` (its expert
usage with the components' paths) to ``--out-dir``. Routes are computed
with ``model.route``, the route a restore of the same image takes.

Examples::

    python tools/analysis_tools/route_stats.py \
        configs/smoke/sler_ir_smoke.py work_dirs/sler_ir_smoke/epoch_4.pth
    python tools/analysis_tools/route_stats.py CONFIG CKPT --device cuda \
        --out-dir work_dirs/route_stats/5task --splits test
"""
import argparse
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import List, Mapping, Tuple

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the output.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore', message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2, safe
# torch.load).
import sler_ir_mm  # noqa: F401,E402,I001
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import MODELS, init_default_scope  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402
from mmagic.registry import DATASETS  # noqa: E402
from tqdm import tqdm  # noqa: E402

from sler_ir_mm.datasets.probe_samples import probe_samples  # noqa: E402

from sler_ir_mm.datasets.data_root import set_data_root  # noqa: E402
from sler_ir_mm.datasets.dataset_cfgs import (  # noqa: E402
    iter_dataset_cfgs, quiet_metainfo_notices)
from sler_ir_mm.evaluation.composite_routes import (  # noqa: E402
    composite_figure_name, composite_route_stats, format_composite_routes,
    plot_composite_routes)
from sler_ir_mm.evaluation.route_stats import (  # noqa: E402
    center_angles, format_route_stats, format_task_routing,
    plot_cosine_matrices, plot_expert_usage, route_samples,
    routing_diagnostics, summarize_routes)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

SPLITS = ('test', 'train')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Route statistics of a SLER-IR checkpoint on the test '
        'sets of its config',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-dir',
        help='where route_stats.{json,md,png} go '
        '(default: ./work_dirs/route_stats/<config name>)')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        help='default: cuda when available, else cpu')
    parser.add_argument(
        '--top-k', type=int, default=5, help='paths listed per test set')
    parser.add_argument(
        '--splits', nargs='+', choices=SPLITS, default=list(SPLITS),
        help='route the test sets, a probe of training patches, or both '
        '(default: both, side by side)')
    parser.add_argument(
        '--train-per-task', type=int, default=24,
        help='training patches per task in the train probe (default: 24)')
    parser.add_argument(
        '--seed', type=int, default=0,
        help='seed of the train probe\'s draw (default: 0)')
    parser.add_argument(
        '--data-root',
        help='read every dataset of the config from this folder instead of '
        'the config\'s data_root')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'test_dataloader.0.dataset.data_root=data/other')
    args = parser.parse_args(argv)
    if args.top_k < 1:
        parser.error(f'--top-k must be >= 1, got {args.top_k}')
    if args.train_per_task < 1:
        parser.error('--train-per-task must be >= 1, got '
                     f'{args.train_per_task}')
    return args


def _metric_cfgs(evaluator) -> list:
    """The metric configs of one test set's evaluator config."""
    if isinstance(evaluator, Mapping):
        if 'metrics' in evaluator:
            return _metric_cfgs(evaluator['metrics'])
        return [evaluator]
    if isinstance(evaluator, (list, tuple)):
        return [m for e in evaluator for m in _metric_cfgs(e)]
    return []


def test_sets(cfg: Config) -> List[Tuple[str, dict]]:
    """``(name, dataloader config)`` of each test set.

    The name is its metrics' prefix (what the results table shows), else
    the task name of its (first) dataset, made unique.
    """
    loaders = cfg.get('test_dataloader', None)
    if not loaders:
        raise SystemExit('the config has no test_dataloader')
    single = isinstance(loaders, Mapping)
    loaders = [loaders] if single else list(loaders)
    evaluators = cfg.get('test_evaluator', None)
    if single or not isinstance(evaluators, (list, tuple)) or \
            len(evaluators) != len(loaders):
        # One evaluator for one loader; otherwise no usable pairing.
        evaluators = [evaluators] if len(loaders) == 1 else \
            [None] * len(loaders)
    sets, used = [], set()
    for i, (loader, evaluator) in enumerate(zip(loaders, evaluators)):
        prefixes = {
            m.get('prefix') for m in _metric_cfgs(evaluator)
            if isinstance(m, Mapping) and m.get('prefix')
        }
        if len(prefixes) == 1:
            name = prefixes.pop()
        else:
            entries = list(iter_dataset_cfgs(dict(test_dataloader=loader),
                                             ['test']))
            name = entries[0].name if entries else f'test_{i}'
        unique, n = name, 2
        while unique in used:
            unique, n = f'{name} #{n}', n + 1
        used.add(unique)
        sets.append((unique, loader))
    return sets


def load_model(cfg: Config, checkpoint: str, device: str) -> torch.nn.Module:
    """Build the config's model, check it routes, load the checkpoint."""
    model = MODELS.build(cfg.model)
    if getattr(model, 'router', None) is None:
        raise SystemExit(
            f'route_stats needs a routed model (SLERRestorer with a '
            f'router); the model of this config, '
            f'{type(model).__name__}, has no router')
    load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def _batches(loader, desc: str):
    return tqdm(loader, desc=desc, unit='batch', dynamic_ncols=True)


def route_test_sets(model, cfg: Config) -> tuple:
    """Per test set the routes, routing vectors and image metainfo."""
    sets = OrderedDict()
    for name, loader_cfg in test_sets(cfg):
        loader = Runner.build_dataloader(loader_cfg)
        routes, emb, metas = route_samples(model, _batches(loader, name))
        if not len(metas):
            raise SystemExit(f'test set {name!r} has no images')
        sets[name] = (routes, emb, metas)
    return sets


def route_train_probe(model, cfg: Config, per_task: int, seed: int) -> tuple:
    """Routes, routing vectors and tasks of the training probe."""
    loader = cfg.get('train_dataloader')
    if not loader or 'dataset' not in loader:
        raise SystemExit('--splits train: the config has no '
                         'train_dataloader.dataset')
    dataset = DATASETS.build(loader['dataset'])
    samples, tasks = probe_samples(dataset, per_task, seed)
    batches = [pseudo_collate(samples[i:i + 16])
               for i in range(0, len(samples), 16)]
    routes, emb, _ = route_samples(model, _batches(batches, 'train probe'))
    return routes, emb, tasks


def main(argv=None) -> dict:
    args = parse_args(argv)
    for what, path in (('config file', args.config),
                       ('checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            raise SystemExit(f'{what} not found: {path}')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA device is available')
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root is not None:
        try:
            set_data_root(cfg, args.data_root)
        except ValueError as err:
            raise SystemExit(f'--data-root: {err}')
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    quiet_metainfo_notices()
    out_dir = args.out_dir or osp.join(
        './work_dirs', 'route_stats',
        osp.splitext(osp.basename(args.config))[0])

    model = load_model(cfg, args.checkpoint, device)
    num_experts = int(model.router.num_experts)
    summaries, images, splits = OrderedDict(), OrderedDict(), OrderedDict()
    names = {}  # task -> display name (its test set's)
    composites = None
    if 'test' in args.splits:
        routed = route_test_sets(model, cfg)
        all_routes, all_emb, all_tasks = [], [], []
        for name, (routes, emb, metas) in routed.items():
            summaries[name] = summarize_routes(routes, num_experts,
                                               args.top_k)
            images[name] = [
                dict(img_path=m.get('img_path', m.get('sample_idx')),
                     route=r.tolist()) for m, r in zip(metas, routes)
            ]
            tasks = [m.get('task_name', name) for m in metas]
            names.setdefault(tasks[0], name)
            all_routes.append(routes)
            all_emb.append(emb)
            all_tasks += tasks
        splits['test'] = routing_diagnostics(
            np.concatenate(all_routes), np.concatenate(all_emb), all_tasks,
            num_experts)
        composites = composite_route_stats(np.concatenate(all_routes),
                                           all_tasks, num_experts)
    if 'train' in args.splits:
        routes, emb, tasks = route_train_probe(model, cfg,
                                               args.train_per_task,
                                               args.seed)
        splits['train'] = routing_diagnostics(routes, emb, tasks,
                                              num_experts)
    centers = getattr(model.router, 'centers', None)
    angles = None if centers is None else center_angles(centers)

    parts = []
    if summaries or angles is not None:
        parts.append(format_route_stats(summaries, angles))
    parts.append('Routes per task (main path = the most common route of '
                 'the task\'s images)\n\n' +
                 format_task_routing(splits, names))
    composite_text = '' if composites is None else \
        format_composite_routes(composites, names)
    if composite_text:
        parts.append(composite_text)
    table = '\n\n'.join(parts)
    stage = getattr(model, 'stage', None)
    header = (f'Routes of {args.checkpoint} (stage {stage}, test routing '
              f'{getattr(model, "test_routing", "?")!r}, routing tiles '
              f'{getattr(model, "route_tile_size", None)}; a route is the '
              'arg-max expert of each routed layer)')
    os.makedirs(out_dir, exist_ok=True)
    stats = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        stage=stage,
        num_layers=int(model.router.num_layers),
        num_experts=num_experts,
        sets={
            name: dict(summaries[name], images=images[name])
            for name in summaries
        },
        splits=splits,
        task_names=names,
        center_angles=angles,
        composites=composites)
    with open(osp.join(out_dir, 'route_stats.json'), 'w',
              encoding='utf-8') as f:
        json.dump(stats, f, indent=2)
    with open(osp.join(out_dir, 'route_stats.md'), 'w',
              encoding='utf-8') as f:
        f.write(header + '\n\n' + table + '\n')
    if summaries:
        plot_expert_usage(summaries, osp.join(out_dir, 'route_stats.png'))
    plot_cosine_matrices(splits, osp.join(out_dir, 'route_cosine.png'),
                         names)
    for task, mix in (composites or {}).get('mixes', {}).items():
        plot_composite_routes(mix, osp.join(out_dir,
                                            composite_figure_name(task)),
                              names.get(task, task), names)
    print(header + '\n\n' + table)
    print(f'\nwrote route_stats.json, route_stats.md and the heat maps to '
          f'{out_dir}')
    return stats


if __name__ == '__main__':
    run_main(main)
