"""How well the router's input tells the degradations apart.

The router of a SLER-IR model reads the degradation encoder's CLS features
(of the whole image, or the mean over its routing tiles). This measures
how separable they are per task: the leave-one-out nearest-class-mean
accuracy (cosine) on a probe of training patches (``--per-task`` per
task, through the training pipeline under ``--seed``) and on the test
sets, and the accuracy on the test images of the training probe's class
means, per task (a test task the probe lacks, e.g. a mix seen only at test
time, is left out of that one). A chance-level figure says the router
cannot route by degradation whatever it learns.

Examples::

    python tools/analysis_tools/encoder_separability.py CONFIG CKPT
    python tools/analysis_tools/encoder_separability.py CONFIG none \\
        --out work_dirs/separability.json   # the encoder as built
"""
import argparse
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import.
warnings.filterwarnings('ignore', category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402

from sler_ir_mm.datasets.probe_samples import probe_samples  # noqa: E402
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Nearest-class-mean accuracy of the features a SLER-IR '
        'router reads, on training patches and test images',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or "none" for the model as '
        'the config builds it')
    parser.add_argument(
        '--per-task',
        type=int,
        default=24,
        help='training patches per task (default: 24)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='seed of the training probe (default: 0)')
    parser.add_argument(
        '--out', help='also write the result to this JSON '
        'file')
    parser.add_argument(
        '--device',
        choices=['cpu', 'cuda'],
        help='default: cuda when available, else cpu')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries')
    args = parser.parse_args(argv)
    if args.per_task < 2:
        parser.error(f'--per-task must be >= 2 (leave one out), got '
                     f'{args.per_task}')
    return args


@torch.no_grad()
def router_features(
        model, batches: Iterable[dict]) -> Tuple[torch.Tensor, List[dict]]:
    """(N, D) unit features the router reads (the mean over an image's
    routing tiles), and each sample's metainfo."""
    feats, metas = [], []
    for batch in batches:
        data = model.data_preprocessor(batch, False)
        encoded = model.batch_encoder.encode(data['inputs'], with_prior=False)
        cls = F.normalize(encoded.router_input.float(), dim=-1)
        b = data['inputs'].shape[0]
        feats.append(
            F.normalize(cls.view(b, encoded.num_tiles, -1).mean(1),
                        dim=-1).cpu())
        samples = data['data_samples']
        metas += [
            s.metainfo for s in (
                samples.split() if hasattr(samples, 'split') else samples)
        ]
    return torch.cat(feats), metas


def class_means(feats: torch.Tensor,
                labels: Sequence[str]) -> Dict[str, torch.Tensor]:
    """Unit mean feature of each label (first-seen order)."""
    return OrderedDict(
        (name,
         F.normalize(feats[[lab == name for lab in labels]].mean(0), dim=0))
        for name in dict.fromkeys(labels))


def nearest_mean_accuracy(feats: torch.Tensor, labels: Sequence[str]) -> float:
    """Leave-one-out nearest-class-mean accuracy (cosine).

    Args:
        feats (Tensor): (N, D) unit features.
        labels (Sequence[str]): The class of each row (each class with at
            least two rows).
    """
    labels = list(labels)
    names = list(dict.fromkeys(labels))
    correct = 0
    for i in range(len(labels)):
        keep = [j != i for j in range(len(labels))]
        means = class_means(feats[keep],
                            [lab for j, lab in enumerate(labels) if j != i])
        scores = torch.stack([
            means[n] @ feats[i] if n in means else torch.tensor(-2.0)
            for n in names
        ])
        correct += names[int(scores.argmax())] == labels[i]
    return correct / len(labels)


def accuracy_per_task(feats: torch.Tensor, labels: Sequence[str],
                      means: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """Per task, the share of its rows whose nearest mean is its own (tasks
    without a mean are left out)."""
    names = list(means)
    table = torch.stack([means[n] for n in names])
    pred = (feats @ table.t()).argmax(-1).tolist()
    out: Dict[str, float] = OrderedDict()
    for task in dict.fromkeys(labels):
        if task not in means:
            continue
        rows = [i for i, lab in enumerate(labels) if lab == task]
        out[task] = sum(names[pred[i]] == task for i in rows) / len(rows)
    return out


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if args.checkpoint != 'none' and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    from mmagic.registry import DATASETS, MODELS
    model = MODELS.build(cfg.model)
    if getattr(model, 'router', None) is None:
        raise SystemExit('encoder_separability needs a routed model (a '
                         'router); this config\'s has none')
    if args.checkpoint != 'none':
        load_checkpoint(
            model, args.checkpoint, map_location='cpu', strict=True)
    model = model.to(device).eval()

    samples, train_tasks = probe_samples(
        DATASETS.build(cfg.train_dataloader.dataset), args.per_task, args.seed)
    train, _ = router_features(model, [
        pseudo_collate(samples[i:i + 16]) for i in range(0, len(samples), 16)
    ])
    loaders = cfg.test_dataloader
    loaders = [loaders] if isinstance(loaders, dict) else list(loaders)
    feats, test_tasks = [], []
    for index, loader in enumerate(loaders):
        loader = Runner.build_dataloader(loader)
        # A sample's task, else its dataset's (metainfo), else the set's
        # place.
        task = (getattr(loader.dataset, 'metainfo', None)
                or {}).get('task_name', f'test_{index}')
        f, metas = router_features(model, loader)
        feats.append(f)
        test_tasks += [m.get('task_name', task) for m in metas]
    test = torch.cat(feats)
    means = class_means(train, train_tasks)
    per_task = accuracy_per_task(test, test_tasks, means)
    counts = {t: test_tasks.count(t) for t in per_task}
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        tiles=int(getattr(model, 'route_tile_size', 0) or 0),
        train_probe=nearest_mean_accuracy(train, train_tasks),
        test=nearest_mean_accuracy(test, test_tasks),
        test_by_train_means=(sum(per_task[t] * counts[t] for t in per_task) /
                             max(sum(counts.values()), 1)),
        test_by_train_means_per_task=per_task)
    print(json.dumps(result))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    run_main(main)
