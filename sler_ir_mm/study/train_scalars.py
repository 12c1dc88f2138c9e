"""A row's training, from the scalars MMEngine's ``LocalVisBackend``
writes (``<work dir>/<timestamp>/vis_data/scalars.json``, one JSON object
per line).

Training lines carry ``iter`` and ``step`` (the iteration); validation
lines carry ``<set>/<metric>`` keys and ``step`` (the epoch); lines of the
route diagnostics hook carry ``route/...`` keys. A resumed run starts a new
log dir and logs again from its checkpoint, so a later file's line replaces
an earlier one of the same kind and step.
"""
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

from sler_ir_mm.evaluation.results_table import is_composite
from .errors import StudyError

__all__ = ['read_train_scalars', 'summarize_train_scalars', 'scalar_kind']

# The route diagnostics hook's statistics on its training probe.
ROUTE_KEYS = ('route/task_paths', 'route/nmi', 'route/min_purity')


def scalar_kind(entry: Mapping) -> str:
    """``'train'``, ``'val'``, ``'route'`` or ``'other'``: what logged a
    line of ``scalars.json``."""
    if 'iter' in entry:
        return 'train'
    if any(k.startswith('route/') for k in entry):
        return 'route'
    if any('/' in k for k in entry):
        return 'val'
    return 'other'


def read_train_scalars(work_dir: str) -> Dict[str, List[dict]]:
    """Every run's ``scalars.json`` in ``work_dir``, merged.

    Args:
        work_dir (str): The row's work dir (``tools/train.py --work-dir``).

    Returns:
        dict: kind (:func:`scalar_kind`) -> lines, by step.

    Raises:
        StudyError: ``work_dir`` has no ``scalars.json``, or one that is not
            JSON lines.
    """
    paths = sorted(
        glob.glob(
            osp.join(glob.escape(work_dir), '*', 'vis_data', 'scalars.json')))
    if not paths:
        raise StudyError(f'no training scalars under {work_dir}/<time>/'
                         'vis_data/scalars.json')
    merged: Dict[str, Dict[float, dict]] = {}
    for path in paths:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    raise StudyError(f'{path}, line {number}: not JSON')
                kind = scalar_kind(entry)
                merged.setdefault(kind, {})[entry.get('step', number)] = entry
    return {
        kind: [lines[s] for s in sorted(lines)]
        for kind, lines in merged.items()
    }


def _mean(values: Sequence[float]) -> Optional[float]:
    values = [
        float(v) for v in values if v is not None and not math.isnan(float(v))
    ]
    return sum(values) / len(values) if values else None


def summarize_train_scalars(scalars: Mapping[str, Sequence[Mapping]],
                            stage1_epochs: Optional[int] = None) -> dict:
    """What the study keeps of a training's scalars.

    Args:
        scalars (Mapping): :func:`read_train_scalars`.
        stage1_epochs (int, optional): Epochs of stage 1, to tell its lines
            apart.

    Returns:
        dict: ``iters`` and ``epochs`` reached; ``final_loss`` (mean
        ``loss`` over the last epoch's lines); ``stage1_hc_zero_share`` (the
        share of stage-1 lines whose contrastive loss was 0, when logged);
        ``router``: the router's statistics (``router_*`` keys) as last
        logged; ``val``: the last
        validation's ``step`` and per-set PSNR with its single-set mean
        (``average_psnr``); ``route_probe``: the last route diagnostics.
    """
    train = list(scalars.get('train') or [])
    out: dict = {}
    if train:
        last_epoch = max(int(e.get('epoch', 0)) for e in train)
        out['iters'] = max(int(e['iter']) for e in train)
        out['epochs'] = last_epoch
        out['final_loss'] = _mean([
            e.get('loss') for e in train
            if int(e.get('epoch', 0)) == last_epoch
        ])
        if stage1_epochs is not None:
            stage1 = [
                e['hc_zero'] for e in train
                if 'hc_zero' in e and int(e.get('epoch', 0)) <= stage1_epochs
            ]
            if stage1:
                out['stage1_hc_zero_share'] = _mean(stage1)
        # The router's statistics (router_*: center angles, balances) as
        # last logged, whatever the router logs.
        router = {}
        for entry in train:
            router.update({
                k: float(v)
                for k, v in entry.items() if k.startswith('router_')
            })
        if router:
            out['router'] = router
    val = list(scalars.get('val') or [])
    if val:
        last = val[-1]
        psnr = {
            k[:-len('/PSNR')]: float(v)
            for k, v in last.items() if k.endswith('/PSNR')
        }
        singles = [v for k, v in psnr.items() if not is_composite(k)]
        out['val'] = dict(
            step=last.get('step'), psnr=psnr, average_psnr=_mean(singles))
    route = list(scalars.get('route') or [])
    if route:
        out['route_probe'] = {
            k.split('/', 1)[1]: route[-1][k]
            for k in ROUTE_KEYS if k in route[-1]
        }
    return out
