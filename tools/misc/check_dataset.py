"""Check the datasets of a config before training or testing.

Builds each leaf dataset of the train/val/test dataloaders on its own (so
one bad dataset does not hide the others), then reads and decodes every
image file the samples name. Prints a table per split and each problem
with its file: a missing or empty folder, degraded images without a clean
pair (the dataset's own build error), missing, empty or undecodable image
files, clean images whose size differs from their degraded image, and
(in pipelines that crop training patches) images smaller than the patch.
The embedded mini benchmark's datasets (``MiniBenchmarkDataset``) are
built through it, as training builds them: a missing benchmark is built
first (about 30 s, said before it starts). Needs no model and no GPU.
Exits 1 when anything is wrong, 0 otherwise.

Examples::

    python tools/misc/check_dataset.py configs/smoke/sler_ir_smoke.py
    python tools/misc/check_dataset.py CONFIG --splits test --no-decode \
        --data-root /data/allinone
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the output.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore', message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2).
import sler_ir_mm  # noqa: F401,E402,I001
import mmcv  # noqa: E402
from mmengine import fileio  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dataset import BaseDataset  # noqa: E402
from mmengine.fileio.backends import LocalBackend  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from sler_ir_mm.datasets import mini_benchmark  # noqa: E402
from sler_ir_mm.datasets.data_root import set_data_root  # noqa: E402
from sler_ir_mm.datasets.dataset_cfgs import (  # noqa: E402
    SPLITS, DatasetConfigError, DatasetEntry, dataset_location, dataset_name,
    described_dataset_cfg, iter_dataset_cfgs, quiet_metainfo_notices)
from sler_ir_mm.utils.cli import TRACEBACK_EPILOG, run_main  # noqa: E402

# Data-info keys holding the image files of a sample.
PATH_KEYS = ('img_path', 'gt_path')

# Pipeline transforms that need images of at least a size, and the argument
# giving it.
PATCH_SIZE_ARGS = (('PairedRandomCrop', 'gt_patch_size'),
                   ('CheckPairedSize', 'min_size'))

# path -> ((H, W) or None, problem or None); shared between datasets so a
# file named by several sets (val == test) is read once.
FileCache = Dict[str, Tuple[Optional[Tuple[int, int]], Optional[str]]]


@dataclass
class FileProblem:
    """A problem with one file (or folder) of a dataset."""
    path: str
    reason: str

    def __str__(self) -> str:
        return f'{self.path}: {self.reason}'


@dataclass
class DatasetReport:
    """What checking one leaf dataset found.

    Attributes:
        split (str): The dataloader split.
        where (str): Where the dataset sits in the config.
        name (str): Readable name (task name, noise level).
        location (str): ``data_root`` and prefixes.
        num_samples (int): Samples in the built dataset (0 if it did not
            build).
        build_error (str, optional): The error that building raised.
        problems (list[FileProblem]): Problems with its files.
        same_as (str, optional): ``where`` of an identical dataset config
            checked before (its problems are listed there).
    """
    split: str
    where: str
    name: str
    location: str
    num_samples: int = 0
    build_error: Optional[str] = None
    problems: List[FileProblem] = field(default_factory=list)
    same_as: Optional[str] = None

    @property
    def num_problems(self) -> int:
        return len(self.problems) + (self.build_error is not None)

    @property
    def ok(self) -> bool:
        return self.num_problems == 0

    def to_dict(self) -> dict:
        return dict(
            split=self.split,
            where=self.where,
            name=self.name,
            location=self.location,
            num_samples=self.num_samples,
            build_error=self.build_error,
            problems=[dict(path=p.path, reason=p.reason)
                      for p in self.problems],
            same_as=self.same_as)


def to_plain(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)


def _check_file(path: str, backend_args: Optional[dict],
                decode: bool) -> Tuple[Optional[Tuple[int, int]],
                                       Optional[str]]:
    """``((H, W) or None, problem or None)`` for one image file."""
    try:
        if not fileio.exists(path, backend_args=backend_args):
            return None, 'file not found'
        local = isinstance(
            fileio.get_file_backend(path, backend_args=backend_args),
            LocalBackend)
        if local and osp.isdir(path):
            return None, 'is a folder, not a file'
        if not decode:
            # Only a local file's size is cheap to get without reading it.
            if local and osp.getsize(path) == 0:
                return None, 'empty file (0 bytes)'
            return None, None
        content = fileio.get(path, backend_args=backend_args)
    except Exception as e:  # a remote backend's or the OS's error
        return None, f'cannot read: {type(e).__name__}: {e}'
    if len(content) == 0:
        return None, 'empty file (0 bytes)'
    try:
        img = mmcv.imfrombytes(content, flag='unchanged', backend='cv2')
    except Exception:  # cv2.error on some corrupt headers
        img = None
    if img is None or img.size == 0:
        return None, (f'cannot decode ({len(content)} bytes): not an image, '
                      'or truncated')
    return tuple(img.shape[:2]), None


def _check_files(paths: Sequence[str], backend_args: Optional[dict],
                 decode: bool, cache: FileCache, num_workers: int,
                 progress: bool, desc: str) -> None:
    """Fill ``cache`` for ``paths``, in parallel threads (file reads and
    OpenCV decoding release the GIL)."""
    todo = [p for p in paths if p not in cache]
    if not todo:
        return
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc=desc, unit='file', leave=False,
                   dynamic_ncols=True)

    def work(path):
        return path, _check_file(path, backend_args, decode)

    try:
        with ThreadPoolExecutor(max(1, num_workers)) as pool:
            for path, result in pool.map(work, todo):
                cache[path] = result
                if bar is not None:
                    bar.update()
    finally:
        if bar is not None:
            bar.close()


def patch_size_of(dataset_cfg: Mapping) -> Optional[Tuple[int, str]]:
    """The smallest image size a dataset config's pipeline takes, and the
    transform argument that sets it (``'PairedRandomCrop gt_patch_size'``);
    None when the pipeline has no such transform."""
    found = None
    for step in dataset_cfg.get('pipeline', None) or ():
        if not isinstance(step, Mapping):
            continue
        kind = step.get('type', '')
        name = kind if isinstance(kind, str) else getattr(
            kind, '__name__', '')
        name = name.split('.')[-1]  # 'mmagic.PairedRandomCrop'
        for transform, arg in PATCH_SIZE_ARGS:
            value = step.get(arg, None)
            if name == transform and isinstance(value, int) and \
                    not isinstance(value, bool) and \
                    (found is None or value > found[0]):
                found = (value, f'{transform} {arg}')
    return found


def _too_small(info: Mapping, cache: FileCache,
               patch: Tuple[int, str]) -> Optional[FileProblem]:
    """A problem on the sample's degraded image (its only image for clean
    sets) if it is smaller than the training patch (``patch // scale``
    for a degraded image)."""
    size, source = patch
    img_path, gt_path = info.get('img_path'), info.get('gt_path')
    path = img_path if isinstance(img_path, str) else gt_path
    hw = cache[path][0] if isinstance(path, str) else None
    if hw is None:  # not decoded, or unreadable (reported as such)
        return None
    need = size if path == gt_path else \
        max(1, int(size // (info.get('scale', 1) or 1)))
    if min(hw) >= need:
        return None
    reason = (f'{hw[0]}x{hw[1]} (HxW) is smaller than the {need}x{need} '
              f'training patch ({source}={size})')
    if isinstance(gt_path, str) and gt_path != path:
        reason += f'; its clean image is {gt_path}'
    return FileProblem(path, reason)


def _pair_problems(info: Mapping,
                   cache: FileCache,
                   reported: set,
                   patch: Optional[Tuple[int, str]] = None
                   ) -> List[FileProblem]:
    problems = []
    paths = {k: info[k] for k in PATH_KEYS if isinstance(info.get(k), str)}
    img_path, gt_path = paths.get('img_path'), paths.get('gt_path')
    paired = img_path is not None and gt_path is not None and \
        img_path != gt_path
    for key, path in paths.items():
        _, reason = cache[path]
        if reason is None or path in reported:
            continue
        reported.add(path)
        if paired and reason == 'file not found':
            other = gt_path if key == 'img_path' else img_path
            side = 'degraded' if key == 'img_path' else 'clean'
            reason = (f'file not found: no {side} image for '
                      f'{other} ({key})')
        else:
            reason = f'{reason} ({key})'
        problems.append(FileProblem(path, reason))
    if paired:
        img_hw, gt_hw = cache[img_path][0], cache[gt_path][0]
        if img_hw is not None and gt_hw is not None:
            scale = info.get('scale', 1) or 1
            expected = (int(img_hw[0] * scale), int(img_hw[1] * scale))
            if tuple(gt_hw) != expected:
                times = f' x{scale:g}' if scale != 1 else ''
                problems.append(
                    FileProblem(
                        gt_path,
                        f'size mismatch: clean image is {gt_hw[0]}x'
                        f'{gt_hw[1]} (HxW), degraded {img_path} is '
                        f'{img_hw[0]}x{img_hw[1]}{times}'))
                return problems
    if patch is not None:
        small = _too_small(info, cache, patch)
        if small is not None:
            problems.append(small)
    return problems


def build_dataset(dataset_cfg: Mapping):
    """Build one dataset config in MMagic's registry (fully initialised;
    a factory such as ``MiniBenchmarkDataset`` through the factory)."""
    from mmagic.registry import DATASETS
    cfg = copy.deepcopy(to_plain(dataset_cfg))
    leaf = described_dataset_cfg(cfg)
    cls = DATASETS.get(leaf['type']) if isinstance(leaf['type'], str) \
        else leaf['type']
    if isinstance(cls, type) and issubclass(cls, BaseDataset):
        # Serializing an empty data list fails with a numpy error that
        # hides the real problem (no samples), and checking needs no
        # compact copy of the infos.
        leaf['serialize_data'] = False
    dataset = DATASETS.build(cfg)
    if hasattr(dataset, 'full_init'):
        dataset.full_init()  # lazy_init=True configs
    return dataset


def check_dataset_cfg(dataset_cfg: Mapping,
                      split: str = '',
                      where: str = '',
                      decode: bool = True,
                      num_workers: int = 4,
                      progress: bool = False,
                      cache: Optional[FileCache] = None) -> DatasetReport:
    """Build one leaf dataset config and check its files.

    Args:
        dataset_cfg (dict): A leaf dataset config (no wrapper).
        split (str): Its split, for the report.
        where (str): Its place in the config, for the report.
        decode (bool): Decode every image (and compare paired sizes);
            False only checks that the files exist and are not empty.
        num_workers (int): Threads reading the files.
        progress (bool): Show a progress bar over the files.
        cache (dict, optional): File results shared between calls.

    Returns:
        DatasetReport: The samples and every problem found; a build error
        (missing or empty folder, unpaired names: the dataset's own
        message) is in ``build_error``.
    """
    if not isinstance(dataset_cfg, Mapping) or 'type' not in dataset_cfg:
        raise DatasetConfigError('check_dataset_cfg needs a dataset config '
                                 f'dict with a type, got {dataset_cfg!r}')
    cache = {} if cache is None else cache
    name = dataset_name(dataset_cfg)
    report = DatasetReport(split, where, name, dataset_location(dataset_cfg))
    try:
        dataset = build_dataset(dataset_cfg)
    except Exception as e:  # any build error is reported, not raised
        report.build_error = f'{type(e).__name__}: {e}'
        return report
    # What the dataset is built from (a factory's dataset config).
    dataset_cfg = described_dataset_cfg(dataset_cfg)
    # The built dataset knows its task name when the config relied on
    # the class default (e.g. CleanImageDataset's 'denoise').
    task = getattr(dataset, 'task_name', None)
    if isinstance(task, str) and 'task_name' not in dataset_cfg and \
            'task_name' not in (dataset_cfg.get('metainfo', None) or {}):
        report.name = dataset_name(dict(dataset_cfg, task_name=task))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    report.num_samples = len(infos)
    if not infos:
        report.problems.append(
            FileProblem(report.location,
                        'no samples (empty folder or annotation file?)'))
        return report
    paths = list(
        OrderedDict.fromkeys(info[k] for info in infos for k in PATH_KEYS
                             if isinstance(info.get(k), str)))
    if not paths:
        report.problems.append(
            FileProblem(report.location,
                        f'its data infos have none of {PATH_KEYS}'))
        return report
    _check_files(paths, dataset_cfg.get('backend_args', None), decode, cache,
                 num_workers, progress, f'{split} {name}'.strip())
    reported: set = set()
    patch = patch_size_of(dataset_cfg)
    for info in infos:
        report.problems += _pair_problems(info, cache, reported, patch)
    return report


def check_config_datasets(cfg: Union[Config, Mapping],
                          splits: Sequence[str] = SPLITS,
                          decode: bool = True,
                          num_workers: int = 4,
                          progress: bool = False) -> List[DatasetReport]:
    """Check every leaf dataset of a config's dataloaders.

    A dataset config identical to one already checked (e.g.
    ``test_dataloader = val_dataloader``) is not checked again: its report
    copies the first one's counts and sets ``same_as``.

    Args:
        cfg (Config | dict): The config.
        splits (Sequence[str]): Splits to check.
        decode (bool): Decode every image (see :func:`check_dataset_cfg`).
        num_workers (int): Threads reading the files.
        progress (bool): Show a progress bar per dataset.

    Returns:
        list[DatasetReport]: One per leaf dataset, in config order.
    """
    reports: List[DatasetReport] = []
    seen: Dict[str, DatasetReport] = {}
    cache: FileCache = {}
    for entry in iter_dataset_cfgs(cfg, splits):
        key = json.dumps(entry.cfg, sort_keys=True, default=repr)
        first = seen.get(key)
        if first is not None:
            report = copy.deepcopy(first)
            report.split, report.where = entry.split, entry.where
            report.same_as = first.where
        else:
            report = check_dataset_cfg(
                entry.cfg, entry.split, entry.where, decode, num_workers,
                progress, cache)
            seen[key] = report
        reports.append(report)
    return reports


def _table(rows: List[List[str]]) -> List[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(r, widths)) + ' |'
             for r in rows]
    lines.insert(1, '|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    return lines


def format_reports(reports: Sequence[DatasetReport],
                   max_listed: int = 20) -> str:
    """A table per split (dataset, location, samples, problems), then each
    problem with its file.

    Args:
        reports (Sequence[DatasetReport]): What the checks found.
        max_listed (int): Problems listed per dataset; 0 lists all.
    """
    lines: List[str] = []
    by_split: Dict[str, List[DatasetReport]] = OrderedDict()
    for report in reports:
        by_split.setdefault(report.split, []).append(report)
    for split, group in by_split.items():
        rows = [['dataset', 'location', 'samples', 'problems']]
        for r in group:
            rows.append([
                r.name, r.location,
                '-' if r.build_error else str(r.num_samples),
                str(r.num_problems) +
                (f' (same as {r.same_as})' if r.same_as else '')
            ])
        lines += [f'{split}: {len(group)} dataset(s)'] + _table(rows) + ['']
    bad = [r for r in reports if not r.ok and r.same_as is None]
    if bad:
        lines.append('Problems:')
    for r in bad:
        lines.append(f'[{r.split}] {r.name} ({r.where}):')
        if r.build_error:
            lines += ['  cannot build the dataset: ' +
                      r.build_error.replace('\n', '\n    ')]
        shown = r.problems if max_listed <= 0 else r.problems[:max_listed]
        lines += [f'  {p}' for p in shown]
        if len(shown) < len(r.problems):
            lines.append(f'  ... and {len(r.problems) - len(shown)} more '
                         '(--max-listed 0 lists all)')
    total = sum(r.num_problems for r in reports if r.same_as is None)
    lines.append(f'{total} problem(s) in '
                 f'{sum(not r.ok for r in reports)} of {len(reports)} '
                 'dataset(s)' if total else
                 f'All {len(reports)} dataset(s) OK.')
    return '\n'.join(lines)


def unbuilt_mini_benchmarks(entries: Sequence[DatasetEntry]) -> List[str]:
    """The folders where ``MiniBenchmarkDataset`` entries will build the
    mini benchmark first (no complete copy of this version there yet)."""
    roots: List[str] = []
    for entry in entries:
        if entry.cfg.get('type') != 'MiniBenchmarkDataset':
            continue
        inner = entry.cfg.get('dataset', None) or {}
        root = entry.cfg.get('benchmark_root', None) or \
            inner.get('data_root', None)
        if not isinstance(root, str) or root in roots:
            continue
        manifest = mini_benchmark.read_manifest(root)
        if manifest is None or \
                manifest.get('version') != mini_benchmark.BENCHMARK_VERSION:
            roots.append(root)
    return roots


def default_num_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check the datasets of a config (folders, pairs, image '
        'files)',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=SPLITS,
        default=list(SPLITS),
        help='dataloaders to check (default: all three)')
    parser.add_argument(
        '--no-decode',
        action='store_true',
        help='only check that the files exist and are not empty (fast); '
        'by default every image is decoded and paired sizes compared')
    parser.add_argument(
        '--workers',
        type=int,
        default=default_num_workers(),
        help='threads reading the files (default: up to 8)')
    parser.add_argument(
        '--max-listed',
        type=int,
        default=20,
        help='problems listed per dataset; 0 lists all (default: 20)')
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
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    if args.max_listed < 0:
        parser.error(f'--max-listed must be >= 0, got {args.max_listed}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = Config.fromfile(args.config)
    except FileNotFoundError:
        raise SystemExit(f'config file not found: {args.config}')
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.data_root is not None:
        try:
            set_data_root(cfg, args.data_root)
        except ValueError as err:
            raise SystemExit(f'--data-root: {err}')
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    quiet_metainfo_notices()
    for root in unbuilt_mini_benchmarks(
            list(iter_dataset_cfgs(cfg, args.splits))):
        # Training would build it on first use too; say why this run waits.
        print(f'The mini benchmark is not built yet under {root}: '
              'building it now (about 30 s), as training does on first '
              'use.', flush=True)
    reports = check_config_datasets(
        cfg,
        splits=args.splits,
        decode=not args.no_decode,
        num_workers=args.workers,
        progress=True)
    if not reports:
        print(f'{args.config} has no dataset in its '
              f'{", ".join(s + "_dataloader" for s in args.splits)}')
        return 1
    print(format_reports(reports, max_listed=args.max_listed))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == '__main__':
    sys.exit(run_main(main))
