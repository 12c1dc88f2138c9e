"""Dataset configs of the all-in-one protocols, for config files.

The 3-task and 5-task protocols (and the embedded mini benchmark) list
one training dataset per task (per noise level for denoising), each
repeated by its factor, and one test set per benchmark. Writing those out
by hand in every config is long and easy to get wrong; these functions
return the plain config dicts from a layout
(:data:`~sler_ir_mm.datasets.layouts.PROMPTIR_LAYOUT` or
:data:`~sler_ir_mm.datasets.mini_benchmark.MINI_LAYOUT`), so a config
reads (a config with ``_base_``; ``del`` the imported names at the end so
they do not become config keys)::

    from sler_ir_mm.datasets.protocols import train_datasets, test_sets
    train_dataloader = dict(
        batch_size=10, ...,
        dataset=dict(type='ConcatDataset', datasets=train_datasets(
            FIVE_TASKS, data_root, pair_pipeline=train_pipeline,
            clean_pipeline=train_noise_pipeline)))
    test_sets_ = test_sets(FIVE_TASKS, data_root, test_pipeline,
                           test_noise_pipeline, noise_sigmas=(25, ))
    del train_datasets, test_sets

The pipelines stay in the config, written out in full: the paired
pipeline loads ``img`` and ``gt``; the clean (denoising) one also adds
``AddGaussianNoise`` (sigma from the dataset's ``noise_sigma``).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

from .layouts import PROMPTIR_LAYOUT, TRAIN_NOISE_SIGMAS

# Names of the test sets in result tables (the metric prefix).
SET_NAMES = dict(
    cbsd68='CBSD68',
    urban100='Urban100',
    kodak24='Kodak24',
    rain100l='Rain100L',
    sots_outdoor='SOTS',
    gopro='GoPro',
    lol='LOL',
)


def _check_tasks(tasks: Sequence[str], layout: dict) -> None:
    if isinstance(tasks, str) or not tasks:
        raise ValueError(f'tasks must be a non-empty list of task names, got '
                         f'{tasks!r}')
    unknown = [t for t in tasks if t not in layout]
    if unknown:
        raise ValueError(f'unknown tasks {unknown}; the layout has '
                         f'{sorted(layout)}')


def _dataset(layout: dict, task: str, entry: dict, data_root: str,
             pipeline: Sequence[dict], test_mode: bool,
             wrapper: Optional[str], noise_sigma: Optional[float]) -> dict:
    spec = layout[task]
    dataset = dict(
        type=spec['type'],
        task_name=task,
        degradation_label=spec['degradation_label'],
        data_root=data_root,
        test_mode=test_mode,
        pipeline=copy.deepcopy(list(pipeline)),
        **copy.deepcopy(entry))
    if noise_sigma is not None:
        dataset['noise_sigma'] = noise_sigma
    if wrapper is not None:
        dataset = dict(type=wrapper, dataset=dataset)
    return dataset


def train_datasets(tasks: Sequence[str],
                   data_root: str,
                   pair_pipeline: Sequence[dict],
                   clean_pipeline: Sequence[dict],
                   layout: Optional[dict] = None,
                   repeats: Optional[Dict[str, int]] = None,
                   noise_sigmas: Sequence[float] = TRAIN_NOISE_SIGMAS,
                   wrapper: Optional[str] = None) -> List[dict]:
    """Training dataset configs of ``tasks``, for a ``ConcatDataset``.

    Args:
        tasks (Sequence[str]): Task names of the layout, e.g.
            ``('denoise', 'derain', 'dehaze')``.
        data_root (str): Root holding the layout's ``Train/`` folder.
        pair_pipeline (Sequence[dict]): Pipeline of the paired tasks.
        clean_pipeline (Sequence[dict]): Pipeline of the clean-image
            (denoising) task, with ``AddGaussianNoise``.
        layout (dict, optional): Default: ``PROMPTIR_LAYOUT``.
        repeats (dict, optional): Per-task repeat factors replacing the
            layout's (PromptIR / AdaIR's).
        noise_sigmas (Sequence[float]): Training noise levels; the
            denoising set is listed once per level. Default: 15, 25, 50.
        wrapper (str, optional): A dataset wrapper type put around each
            dataset, e.g. ``'MiniBenchmarkDataset'``.

    Returns:
        list[dict]: One config per task (per noise level for denoising),
        in a ``RepeatDataset`` when its factor is not 1.
    """
    layout = PROMPTIR_LAYOUT if layout is None else layout
    _check_tasks(tasks, layout)
    repeats = dict(repeats or {})
    unknown = set(repeats) - set(tasks)
    if unknown:
        raise ValueError(f'repeats has tasks {sorted(unknown)} that are not '
                         f'in tasks {list(tasks)}')
    datasets = []
    for task in tasks:
        spec = layout[task]
        times = repeats.get(task, spec['repeat'])
        if isinstance(times, bool) or not isinstance(times, int) or \
                times < 1:
            raise ValueError(f'repeat factor of {task!r} must be an int >= '
                             f'1, got {times!r}')
        clean = spec['type'] == 'CleanImageDataset'
        sigmas = tuple(noise_sigmas) if clean else (None, )
        if clean and not sigmas:
            raise ValueError('noise_sigmas must not be empty with a '
                             'denoising task')
        for sigma in sigmas:
            dataset = _dataset(layout, task, spec['train'], data_root,
                               clean_pipeline if clean else pair_pipeline,
                               False, wrapper, sigma)
            if times != 1:
                dataset = dict(type='RepeatDataset', times=times,
                               dataset=dataset)
            datasets.append(dataset)
    return datasets


def test_sets(tasks: Sequence[str],
              data_root: str,
              pair_pipeline: Sequence[dict],
              clean_pipeline: Sequence[dict],
              layout: Optional[dict] = None,
              noise_sigmas: Sequence[float] = (25, ),
              sets: Optional[Dict[str, Sequence[str]]] = None,
              wrapper: Optional[str] = None,
              names: Optional[Dict[str, str]] = None
              ) -> List[Tuple[str, dict]]:
    """Test set configs of ``tasks``, with the names used in result tables.

    Args:
        tasks (Sequence[str]): Task names of the layout.
        data_root (str): Root holding the layout's ``test/`` folder.
        pair_pipeline (Sequence[dict]): Pipeline of the paired sets.
        clean_pipeline (Sequence[dict]): Pipeline of the clean (denoising)
            sets, with a seeded ``AddGaussianNoise``.
        layout (dict, optional): Default: ``PROMPTIR_LAYOUT``.
        noise_sigmas (Sequence[float]): Noise levels the denoising sets are
            tested at (one set each, named ``<set>-s<sigma>``). Default: 25
            (the 5-task protocol; the 3-task one tests 15, 25 and 50).
        sets (dict, optional): Test sets per task, keys of the layout's
            ``test`` entries. Default: the first one of each task (CBSD68,
            Rain100L, SOTS-outdoor, GoPro, LOL).
        wrapper (str, optional): A dataset wrapper type around each set.
        names (dict, optional): Display name per set key (or per task,
            used when the set key has none). Default: :data:`SET_NAMES`.

    Returns:
        list[tuple[str, dict]]: ``(name, dataset config)`` per test set.
    """
    layout = PROMPTIR_LAYOUT if layout is None else layout
    _check_tasks(tasks, layout)
    sets = dict(sets or {})
    names = SET_NAMES if names is None else names
    result = []
    for task in tasks:
        spec = layout[task]
        keys = sets.get(task, [next(iter(spec['test']))])
        if isinstance(keys, str):
            keys = [keys]
        for key in keys:
            if key not in spec['test']:
                raise ValueError(f'{task!r} has no test set {key!r}; the '
                                 f'layout has {sorted(spec["test"])}')
            name = names.get(key, names.get(task, key))
            if spec['type'] == 'CleanImageDataset':
                if not noise_sigmas:
                    raise ValueError('noise_sigmas must not be empty with a '
                                     'denoising task')
                for sigma in noise_sigmas:
                    result.append((f'{name}-s{sigma:g}', _dataset(
                        layout, task, spec['test'][key], data_root,
                        clean_pipeline, True, wrapper, sigma)))
            else:
                result.append((name, _dataset(
                    layout, task, spec['test'][key], data_root,
                    pair_pipeline, True, wrapper, None)))
    return result
