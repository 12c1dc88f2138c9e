"""CDD-11, OneRestore's composite-degradation protocol (ECCV 2024).

The data (``gy65896/OneRestore``, README "Prepare Dataset") sits in two
folders under one ``data_root``, each with a ``clear/`` ground-truth folder
and one folder per degradation type holding the degraded images under the
clear images' file names::

    data/CDD-11_train/clear/000001.png
    data/CDD-11_train/low_haze_rain/000001.png
    data/CDD-11_test/clear/...
    data/CDD-11_test/<type>/...

The 11 types, in OneRestore's order (their labels 0..10): the four single
degradations low light, haze, rain and snow, then their mixes; a mix was
synthesised in the order low light -> rain -> snow -> haze, whatever its
folder name says. Following the project's convention a type's
``task_name`` is its folder name with ``'_'`` replaced by ``'+'`` (so
``task_name.split('+')`` gives its components) and its test set is named
by the folder name in result tables.

:data:`CDD11_LAYOUT` is a layout for
:func:`~sler_ir_mm.datasets.protocols.train_datasets` and
:func:`~sler_ir_mm.datasets.protocols.test_sets`, keyed by task name::

    train_datasets(CDD11_TASKS, 'data', pipeline, pipeline,
                   layout=CDD11_LAYOUT)
    test_sets(CDD11_TASKS, 'data', test_pipeline, test_pipeline,
              layout=CDD11_LAYOUT, names=CDD11_SET_NAMES)
"""
from typing import Dict

__all__ = [
    'CDD11_TYPES', 'CDD11_LABELS', 'CDD11_TASKS', 'CDD11_TASK_NAMES',
    'CDD11_SET_NAMES', 'CDD11_LAYOUT', 'CDD11_TRAIN_DIR', 'CDD11_TEST_DIR',
    'CDD11_CLEAR', 'cdd11_task_name'
]

# Folder names of the degradation types, in OneRestore's order.
CDD11_TYPES = ('low', 'haze', 'rain', 'snow', 'low_haze', 'low_rain',
               'low_snow', 'haze_rain', 'haze_snow', 'low_haze_rain',
               'low_haze_snow')
CDD11_TRAIN_DIR = 'CDD-11_train'
CDD11_TEST_DIR = 'CDD-11_test'
CDD11_CLEAR = 'clear'


def cdd11_task_name(type_name: str) -> str:
    """The task name of a CDD-11 type folder (``'low_haze'`` ->
    ``'low+haze'``).

    Args:
        type_name (str): One of :data:`CDD11_TYPES`.
    """
    if type_name not in CDD11_TYPES:
        raise ValueError(f'type_name must be one of {list(CDD11_TYPES)}, '
                         f'got {type_name!r}')
    return type_name.replace('_', '+')


# One degradation class per type: 0..10 in the order above.
CDD11_LABELS: Dict[str, int] = {t: i for i, t in enumerate(CDD11_TYPES)}
CDD11_TASK_NAMES: Dict[str, str] = {t: cdd11_task_name(t)
                                    for t in CDD11_TYPES}
CDD11_TASKS = tuple(CDD11_TASK_NAMES[t] for t in CDD11_TYPES)
# Test set key (the type folder) -> name in result tables (the same).
CDD11_SET_NAMES: Dict[str, str] = {t: t for t in CDD11_TYPES}


def _pair(split_dir: str, type_name: str) -> dict:
    return dict(
        data_prefix=dict(
            img=f'{split_dir}/{type_name}', gt=f'{split_dir}/{CDD11_CLEAR}'),
        gt_name='same')


# task name -> entry in the shape of PROMPTIR_LAYOUT's. Every type holds
# the same scenes, so one pass over each keeps the types balanced.
CDD11_LAYOUT = {
    CDD11_TASK_NAMES[t]: dict(
        type='DegradationPairDataset',
        degradation_label=CDD11_LABELS[t],
        repeat=1,
        train=_pair(CDD11_TRAIN_DIR, t),
        test={t: _pair(CDD11_TEST_DIR, t)})
    for t in CDD11_TYPES
}
