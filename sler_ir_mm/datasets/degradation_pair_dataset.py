"""Paired degraded / clean images of one degradation task."""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmagic.datasets import BasicImageDataset
from mmagic.registry import DATASETS

from sler_ir_mm.utils.arg_checks import check_int
from .bad_samples import check_no_skip_in_test

# gt_name presets: (pattern matched against the whole degraded stem,
# replacement giving the clean stem).
GT_NAME_PRESETS: Dict[str, Optional[Tuple[str, str]]] = {
    # GoPro, LOL, Rain100L test, MMagic-style input/target folders.
    'same': None,
    # Rain100L / Rain200L training: rain-12.png -> norain-12.png
    'rain': (r'rain-(.+)', r'norain-\1'),
    # RESIDE OTS / SOTS: <id>_<A>_<beta>.jpg -> <id>.png or <id>.jpg
    # (everything before the first underscore, as PromptIR / AirNet).
    'haze': (r'([^_]+)_.+', r'\1'),
}

MAX_LISTED = 5


def _norm(rel_path: str) -> str:
    return rel_path.replace(os.sep, '/')


def check_folder(file_backend, folder: str, config_key: str,
                 data_root: Optional[str]) -> None:
    """Raise a FileNotFoundError naming ``folder`` and the config key that
    gave it, unless it is a directory."""
    if data_root and not file_backend.isdir(data_root):
        raise FileNotFoundError(
            f'data_root folder not found: {osp.abspath(data_root)!r}')
    if not file_backend.isdir(folder):
        raise FileNotFoundError(
            f'{config_key} folder not found: {osp.abspath(folder)!r} '
            f'(data_root={data_root!r})')


def list_images(file_backend, folder: str, suffix, recursive: bool) -> list:
    """Relative paths ('/'-separated) of the image files under ``folder``,
    sorted."""
    return sorted(
        _norm(p) for p in file_backend.list_dir_or_file(
            dir_path=folder, list_dir=False, suffix=suffix,
            recursive=recursive))


def format_problems(problems: Sequence[str]) -> str:
    lines = [f'  {p}' for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f'  ... and {len(problems) - MAX_LISTED} more')
    return '\n'.join(lines)


def check_listed_files(file_backend, folder: str, rel_paths: Sequence[str],
                       ann_file: str) -> None:
    """Raise a FileNotFoundError listing the annotation entries that are not
    files under ``folder``."""
    missing = [
        p for p in rel_paths
        if not file_backend.isfile(osp.join(folder, p))
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of {len(rel_paths)} files listed in '
            f'{ann_file!r} are not in {osp.abspath(folder)!r}:\n'
            + format_problems(missing))


@DATASETS.register_module()
class DegradationPairDataset(BasicImageDataset):
    """Degraded/clean image pairs of one task, with its degradation label.

    One instance is one task's split (e.g. Rain100L train). The degraded
    images are listed from ``data_prefix['img']`` (or read from
    ``ann_file``, one path relative to that folder per line, as in
    MMagic's ``BasicImageDataset``); each is paired with a clean image in
    ``data_prefix['gt']`` through ``gt_name``:

    - ``'same'``: the same stem (GoPro, LOL, the PromptIR/AdaIR test
      folders ``input/`` + ``target/``);
    - ``'rain'``: ``rain-N.*`` -> ``norain-N.*`` (Rain100L training);
    - ``'haze'``: ``<id>_<A>_<beta>.*`` -> ``<id>.*``, the stem up to the
      first underscore (RESIDE OTS, SOTS); several hazy images share one
      clear image;
    - ``(pattern, replacement)``: a regular expression that must match the
      whole degraded stem, and its ``re`` replacement template giving the
      clean stem, e.g. ``(r'(\\d+)_blur', r'\\1_sharp')``.

    The clean file is found by stem with any image extension (a ``.jpg``
    hazy image may have a ``.png`` clear image); if several extensions
    exist, the degraded file's extension is preferred, otherwise the pair
    is an error. With ``recursive=True`` the degraded images are searched
    in sub-folders too, and a clean image is looked up first in the same
    sub-folder of the gt folder, then at its top (PromptIR's OTS layout:
    ``synthetic/part1/0025_0.8_0.04.jpg`` -> ``original/0025.jpg``).

    Everything is checked when the dataset is built, and each problem is an
    error that names it: a missing ``data_root`` or prefix folder
    (``FileNotFoundError`` with the full path and the config key), an empty
    folder, a listed file that is not there, and degraded images without a
    clean pair (the first 5 degraded files with the clean name expected).
    Decoding is left to the pipeline: use ``LoadImageFromFileChecked`` so
    that an unreadable file is an error naming it, then ``CheckPairedSize``
    so that a pair of different sizes (or one smaller than the training
    patch) is an error naming both files. Their ``on_error='skip'``
    (training only; refused with ``test_mode=True``) logs such a sample
    and trains on another instead (:mod:`sler_ir_mm.datasets.bad_samples`).

    Each data info holds ``img_path``, ``gt_path``, ``key`` (the degraded
    image's path relative to its folder, without extension),
    ``task_name``, ``degradation_label`` and ``scale=1`` (same-size pairs,
    so MMagic's ``PairedRandomCrop`` needs no ``SetValues``). Pack the label
    with ``PackInputs(meta_keys=['degradation_label', 'task_name'])``. The
    list is sorted by path (or keeps the annotation file's order), so it is
    the same on every machine.
    The dataset's ``metainfo`` is left as ``BasicImageDataset``'s unless
    given, so instances of several tasks concatenate without
    ``ignore_keys``.

    Repeat a task in training with MMEngine's
    ``dict(type='RepeatDataset', times=N, dataset=...)``; the PromptIR /
    AdaIR factors are in :mod:`sler_ir_mm.datasets.layouts`.

    Args:
        task_name (str): Name of the task, e.g. ``'derain'``.
        degradation_label (int): Label (>= 0) of the task, shared by its
            training and test sets.
        gt_name (str | tuple[str, str]): How a degraded file name maps to
            its clean one (see above). Defaults to ``'same'``.
        data_prefix (dict): ``dict(img=<degraded folder>, gt=<clean
            folder>)``, relative to ``data_root``.
        ann_file (str): Optional list of degraded images, relative to
            ``data_prefix['img']`` (e.g. PromptIR's ``hazy_outside.txt``).
        recursive (bool): Search sub-folders. Defaults to False.
        **kwargs: The other arguments of ``BasicImageDataset``
            (``data_root``, ``pipeline``, ``test_mode``, ``metainfo``,
            ``img_suffix``, ``backend_args``, ...). ``filename_tmpl`` and
            ``search_key`` are not used.

    Examples:

        Rain100L in the PromptIR layout (``data_root`` holds ``Train/`` and
        ``test/``), training (x120) and test::

            pipeline = [
                dict(type='LoadImageFromFileChecked', key='img',
                     channel_order='rgb'),
                dict(type='LoadImageFromFileChecked', key='gt',
                     channel_order='rgb'),
                dict(type='PairedRandomCrop', gt_patch_size=128),
                dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
                     direction='horizontal'),
                dict(type='PackInputs',
                     meta_keys=['degradation_label', 'task_name']),
            ]
            derain_train = dict(
                type='RepeatDataset', times=120,
                dataset=dict(
                    type='DegradationPairDataset',
                    task_name='derain', degradation_label=1,
                    gt_name='rain',
                    data_root='data',
                    data_prefix=dict(img='Train/Derain/rainy',
                                     gt='Train/Derain/gt'),
                    pipeline=pipeline))
            derain_test = dict(
                type='DegradationPairDataset',
                task_name='derain', degradation_label=1,
                data_root='data',
                data_prefix=dict(img='test/derain/Rain100L/input',
                                 gt='test/derain/Rain100L/target'),
                test_mode=True,
                pipeline=test_pipeline)  # the loads and PackInputs

        RESIDE OTS training (hazy images in ``part1`` ... ``part4``) and
        SOTS-outdoor test (``.jpg`` hazy, ``.png`` clear)::

            dehaze_train = dict(
                type='DegradationPairDataset',
                task_name='dehaze', degradation_label=2, gt_name='haze',
                data_root='data',
                data_prefix=dict(img='Train/Dehaze/synthetic',
                                 gt='Train/Dehaze/original'),
                recursive=True,  # or ann_file=<PromptIR's OTS list>
                pipeline=pipeline)
            dehaze_test = dict(
                type='DegradationPairDataset',
                task_name='dehaze', degradation_label=2, gt_name='haze',
                data_root='data',
                data_prefix=dict(img='test/dehaze/input',
                                 gt='test/dehaze/target'),
                test_mode=True, pipeline=test_pipeline)

        GoPro and LOL v1 (5-task, AdaIR layout), ``gt_name='same'``::

            dict(type='DegradationPairDataset', task_name='deblur',
                 degradation_label=3, data_root='data',
                 data_prefix=dict(img='Train/Deblur/blur',
                                  gt='Train/Deblur/sharp'), ...)
            dict(type='DegradationPairDataset', task_name='lowlight',
                 degradation_label=4, data_root='data',
                 data_prefix=dict(img='Train/Enhance/low',
                                  gt='Train/Enhance/gt'), ...)
            # tests: test/deblur/gopro/{input,target},
            #        test/enhance/lol/{input,target}
    """

    def __init__(self,
                 task_name: str,
                 degradation_label: int,
                 gt_name: Union[str, Sequence[str]] = 'same',
                 data_prefix: dict = dict(img='', gt=''),
                 recursive: bool = False,
                 **kwargs) -> None:
        if not isinstance(task_name, str) or not task_name:
            raise ValueError(
                f'task_name must be a non-empty str, got {task_name!r}')
        check_int('degradation_label', degradation_label, minimum=0)
        if not isinstance(data_prefix, dict) or \
                set(data_prefix) != {'img', 'gt'}:
            raise ValueError(
                'DegradationPairDataset needs data_prefix=dict(img=<degraded '
                f'folder>, gt=<clean folder>), got {data_prefix!r}')
        if kwargs.pop('filename_tmpl', None) or \
                kwargs.pop('search_key', None) not in (None, 'img'):
            raise ValueError('DegradationPairDataset lists data_prefix'
                             "['img'] and maps names with gt_name; "
                             'filename_tmpl and search_key are not used')
        self.task_name = task_name
        self.degradation_label = int(degradation_label)
        self.gt_name = gt_name
        self._gt_pattern = self._parse_gt_name(gt_name)
        super().__init__(
            data_prefix=dict(data_prefix),
            filename_tmpl=dict(img='{}', gt='{}'),
            search_key='img',
            recursive=recursive,
            **kwargs)
        check_no_skip_in_test(self.pipeline.transforms, self.test_mode,
                              f'DegradationPairDataset {task_name!r}')

    @staticmethod
    def _parse_gt_name(gt_name) -> Optional[Tuple['re.Pattern', str]]:
        if isinstance(gt_name, str):
            if gt_name not in GT_NAME_PRESETS:
                raise ValueError(
                    f'gt_name must be one of {sorted(GT_NAME_PRESETS)} or a '
                    f'(pattern, replacement) pair, got {gt_name!r}')
            preset = GT_NAME_PRESETS[gt_name]
            if preset is None:
                return None
            pattern, repl = preset
        elif isinstance(gt_name, (tuple, list)) and len(gt_name) == 2 \
                and all(isinstance(s, str) for s in gt_name):
            pattern, repl = gt_name
        else:
            raise ValueError(
                f'gt_name must be one of {sorted(GT_NAME_PRESETS)} or a '
                f'(pattern, replacement) pair, got {gt_name!r}')
        try:
            return re.compile(pattern), repl
        except re.error as e:
            raise ValueError(
                f'gt_name pattern {pattern!r} is not a valid regular '
                f'expression: {e}') from e

    def clean_stem(self, stem: str) -> Optional[str]:
        """The clean image's stem for a degraded stem; None if the name does
        not fit ``gt_name``."""
        if self._gt_pattern is None:
            return stem
        pattern, repl = self._gt_pattern
        match = pattern.fullmatch(stem)
        if match is None:
            return None
        return match.expand(repl)

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix['img']
        gt_dir = self.data_prefix['gt']
        backend = self.file_backend
        check_folder(backend, img_dir, "data_prefix['img']", self.data_root)
        check_folder(backend, gt_dir, "data_prefix['gt']", self.data_root)

        if self.use_ann_file:
            # the annotation file's order, as MMagic's BasicImageDataset
            rel_paths = [_norm(p) for p in self._get_path_list()]
            check_listed_files(backend, img_dir, rel_paths, self.ann_file)
        else:
            rel_paths = list_images(backend, img_dir, self.img_suffix,
                                    self.recursive)
        if not rel_paths:
            source = repr(self.ann_file) if self.use_ann_file else \
                f'{osp.abspath(img_dir)!r} (suffixes {self.img_suffix})'
            raise FileNotFoundError(
                f"no degraded images for task {self.task_name!r}: "
                f'{source} is empty')

        # (sub-folder, stem) -> clean files
        gt_index: Dict[Tuple[str, str], List[str]] = {}
        for rel in list_images(backend, gt_dir, self.img_suffix,
                               self.recursive):
            sub, name = osp.split(rel)
            gt_index.setdefault((sub, osp.splitext(name)[0]), []).append(rel)

        data_list, problems = [], []
        for rel in rel_paths:
            sub, name = osp.split(rel)
            stem, ext = osp.splitext(name)
            gt_stem = self.clean_stem(stem)
            if gt_stem is None:
                problems.append(
                    f'{rel}: name does not match the gt_name pattern '
                    f'{self._gt_pattern[0].pattern!r}')
                continue
            candidates = gt_index.get((sub, gt_stem))
            if candidates is None and sub:
                candidates = gt_index.get(('', gt_stem))
            if not candidates:
                where = f'{sub}/{gt_stem}' if sub else gt_stem
                problems.append(f'{rel} -> no clean image {where}.* '
                                f'(any image extension)')
                continue
            if len(candidates) > 1:
                same_ext = [c for c in candidates if c.endswith(ext)]
                if len(same_ext) != 1:
                    problems.append(f'{rel} -> several clean images: '
                                    f'{", ".join(candidates)}')
                    continue
                candidates = same_ext
            data_list.append(
                dict(
                    key=osp.splitext(rel)[0],
                    img_path=osp.join(img_dir, rel),
                    gt_path=osp.join(gt_dir, candidates[0]),
                    task_name=self.task_name,
                    degradation_label=self.degradation_label,
                    scale=1))

        if problems:
            raise FileNotFoundError(
                f'task {self.task_name!r}: {len(problems)} of '
                f'{len(rel_paths)} degraded images in '
                f'{osp.abspath(img_dir)!r} have no clean pair in '
                f'{osp.abspath(gt_dir)!r} (gt_name={self.gt_name!r}):\n'
                + format_problems(problems))
        return data_list
