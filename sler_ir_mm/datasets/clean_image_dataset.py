"""Clean images that the pipeline degrades on the fly (denoising)."""
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.utils import is_abs
from mmagic.datasets import BasicImageDataset
from mmagic.registry import DATASETS

from sler_ir_mm.utils.arg_checks import check_float_range, check_int
from .bad_samples import check_no_skip_in_test
from .degradation_pair_dataset import (_norm, check_folder, format_problems,
                                       list_images)


@DATASETS.register_module()
class CleanImageDataset(BasicImageDataset):
    """Clean images of a synthetic-degradation task, e.g. denoising.

    Each data info has ``gt_path`` and ``img_path`` set to the same file,
    so the pipeline loads it twice (or once and copies it with MMagic's
    ``CopyValues``) and a degradation transform, ``AddGaussianNoise``,
    degrades ``img``. The info also carries ``key`` (the path relative to
    its folder, without extension), ``task_name``, ``degradation_label``,
    ``scale=1`` (for ``PairedRandomCrop``) and, when given,
    ``noise_sigma``, which ``AddGaussianNoise(sigma=None)`` then uses.

    Several folders: the PromptIR/AdaIR layout puts BSD400 and WED in one
    folder (``Train/Denoise``); if yours are apart, give the first as
    ``data_prefix=dict(gt=...)`` and the others in ``extra_gt_prefixes``
    (one dataset, one pipeline, instead of a ``ConcatDataset``).
    ``ann_file`` optionally lists the images to use (paths relative to a
    gt folder; each is looked up in ``data_prefix['gt']`` then in the
    extra folders), e.g. PromptIR's BSD400 + WED list.

    Checked at build time, each an error that names it: a missing
    ``data_root`` or folder (``FileNotFoundError`` with the full path and
    the config key), an empty folder, a listed file that is not there. The
    list is sorted by folder then path (or keeps the annotation order).
    Unreadable or too-small images are the pipeline's to catch
    (``LoadImageFromFileChecked``, ``CheckPairedSize``); their
    ``on_error='skip'`` is refused with ``test_mode=True``.

    Args:
        task_name (str): Task name. Defaults to ``'denoise'``.
        degradation_label (int): Task label (>= 0). Defaults to 0.
        noise_sigma (float, optional): Noise level in [0, 255] units stored
            in each info (test sets, or training sets whose pipeline reads
            it). None stores nothing.
        data_prefix (dict): ``dict(gt=<clean folder>)``, relative to
            ``data_root``.
        extra_gt_prefixes (Sequence[str]): More clean folders, relative to
            ``data_root``. Defaults to none.
        recursive (bool): Search sub-folders. Defaults to False.
        **kwargs: The other arguments of ``BasicImageDataset``
            (``data_root``, ``ann_file``, ``pipeline``, ``test_mode``,
            ``metainfo``, ``img_suffix``, ...).

    Examples:

        BSD400 + WED training (PromptIR: each sigma x3, one label for all
        noise levels) and CBSD68 test at sigma 25 with repeatable noise::

            train_pipeline = [
                dict(type='LoadImageFromFileChecked', key='img',
                     channel_order='rgb'),
                dict(type='LoadImageFromFileChecked', key='gt',
                     channel_order='rgb'),
                dict(type='PairedRandomCrop', gt_patch_size=128),
                dict(type='AddGaussianNoise'),  # sigma from noise_sigma
                dict(type='PackInputs',
                     meta_keys=['degradation_label', 'task_name',
                                'noise_sigma']),
            ]
            denoise_train = [
                dict(type='RepeatDataset', times=3,
                     dataset=dict(type='CleanImageDataset',
                                  task_name='denoise', degradation_label=0,
                                  noise_sigma=sigma, data_root='data',
                                  data_prefix=dict(gt='Train/Denoise'),
                                  pipeline=train_pipeline))
                for sigma in (15, 25, 50)
            ]
            cbsd68_sigma25 = dict(
                type='CleanImageDataset', task_name='denoise',
                degradation_label=0, noise_sigma=25, data_root='data',
                data_prefix=dict(gt='test/denoise/bsd68'), test_mode=True,
                pipeline=[
                    dict(type='LoadImageFromFileChecked', key='img',
                         channel_order='rgb'),
                    dict(type='LoadImageFromFileChecked', key='gt',
                         channel_order='rgb'),
                    dict(type='AddGaussianNoise', seed=0),
                    dict(type='PackInputs',
                         meta_keys=['degradation_label', 'task_name',
                                    'noise_sigma']),
                ])

        BSD400 and WED in separate folders::

            dict(type='CleanImageDataset', data_root='data',
                 data_prefix=dict(gt='BSD400'), extra_gt_prefixes=['WED'],
                 ...)
    """

    def __init__(self,
                 task_name: str = 'denoise',
                 degradation_label: int = 0,
                 noise_sigma: Optional[float] = None,
                 data_prefix: dict = dict(gt=''),
                 extra_gt_prefixes: Sequence[str] = (),
                 recursive: bool = False,
                 **kwargs) -> None:
        if not isinstance(task_name, str) or not task_name:
            raise ValueError(
                f'task_name must be a non-empty str, got {task_name!r}')
        check_int('degradation_label', degradation_label, minimum=0)
        if noise_sigma is not None:
            check_float_range('noise_sigma', noise_sigma, 0, 255)
        if not isinstance(data_prefix, dict) or set(data_prefix) != {'gt'}:
            raise ValueError(
                'CleanImageDataset needs data_prefix=dict(gt=<clean '
                f'folder>), got {data_prefix!r}')
        if isinstance(extra_gt_prefixes, str) or not all(
                isinstance(p, str) for p in extra_gt_prefixes):
            raise ValueError('extra_gt_prefixes must be a list of folder '
                             f'names, got {extra_gt_prefixes!r}')
        if kwargs.pop('filename_tmpl', None) or \
                kwargs.pop('search_key', None) not in (None, 'gt'):
            raise ValueError('CleanImageDataset lists its gt folders; '
                             'filename_tmpl and search_key are not used')
        self.task_name = task_name
        self.degradation_label = int(degradation_label)
        self.noise_sigma = None if noise_sigma is None else float(noise_sigma)
        self.extra_gt_prefixes = list(extra_gt_prefixes)
        super().__init__(
            data_prefix=dict(data_prefix),
            filename_tmpl=dict(gt='{}'),
            search_key='gt',
            recursive=recursive,
            **kwargs)
        check_no_skip_in_test(self.pipeline.transforms, self.test_mode,
                              f'CleanImageDataset {task_name!r}')

    def _gt_folders(self) -> List[str]:
        folders = [self.data_prefix['gt']]
        for prefix in self.extra_gt_prefixes:
            if self.data_root and not is_abs(prefix):
                prefix = osp.join(self.data_root, prefix)
            folders.append(prefix)
        return folders

    def load_data_list(self) -> List[dict]:
        backend = self.file_backend
        folders = self._gt_folders()
        for i, folder in enumerate(folders):
            config_key = "data_prefix['gt']" if i == 0 else \
                f'extra_gt_prefixes[{i - 1}]'
            check_folder(backend, folder, config_key, self.data_root)

        entries = []  # (folder, relative path)
        if self.use_ann_file:
            missing = []
            for rel in self._get_path_list():
                rel = _norm(rel)
                found = next((f for f in folders
                              if backend.isfile(osp.join(f, rel))), None)
                if found is None:
                    missing.append(rel)
                else:
                    entries.append((found, rel))
            if missing:
                raise FileNotFoundError(
                    f'{len(missing)} files listed in {self.ann_file!r} are '
                    'in none of the folders '
                    f'{[osp.abspath(f) for f in folders]}:\n'
                    + format_problems(missing))
            if not entries:
                raise FileNotFoundError(
                    f'no images for task {self.task_name!r}: '
                    f'{self.ann_file!r} is empty')
        else:
            for folder in folders:
                rels = list_images(backend, folder, self.img_suffix,
                                   self.recursive)
                if not rels:
                    raise FileNotFoundError(
                        f'no images for task {self.task_name!r}: '
                        f'{osp.abspath(folder)!r} is empty (suffixes '
                        f'{self.img_suffix})')
                entries += [(folder, rel) for rel in rels]

        data_list = []
        for folder, rel in entries:
            path = osp.join(folder, rel)
            info = dict(
                key=osp.splitext(rel)[0],
                img_path=path,
                gt_path=path,
                task_name=self.task_name,
                degradation_label=self.degradation_label,
                scale=1)
            if self.noise_sigma is not None:
                info['noise_sigma'] = self.noise_sigma
            data_list.append(info)
        return data_list
