"""Dataset configs of the all-in-one protocols."""
import pytest

from sler_ir_mm.datasets import (FIVE_TASKS, MINI_LAYOUT, PROMPTIR_LAYOUT,
                                 THREE_TASKS)
from sler_ir_mm.datasets.mini_benchmark import MINI_SET_NAMES
from sler_ir_mm.datasets.protocols import train_datasets
from sler_ir_mm.datasets.protocols import test_sets as make_test_sets

PAIR = [dict(type='PackInputs')]
CLEAN = [dict(type='AddGaussianNoise'), dict(type='PackInputs')]


def test_train_datasets_repeat_and_sigmas():
    datasets = train_datasets(THREE_TASKS, 'data', PAIR, CLEAN)
    assert [d.get('times') for d in datasets] == [3, 3, 3, 120, None]
    denoise = [d['dataset'] for d in datasets[:3]]
    assert [d['noise_sigma'] for d in denoise] == [15, 25, 50]
    assert all(d['pipeline'] == CLEAN for d in denoise)
    assert datasets[3]['dataset']['pipeline'] == PAIR
    assert datasets[4]['data_prefix'] == PROMPTIR_LAYOUT['dehaze']['train'][
        'data_prefix']
    # Pipelines are copied, not shared between datasets.
    assert datasets[3]['dataset']['pipeline'] is not PAIR


def test_repeats_override_and_wrapper():
    datasets = train_datasets(['derain'], 'data', PAIR, CLEAN,
                              repeats=dict(derain=2), wrapper='W')
    assert datasets[0]['times'] == 2
    assert datasets[0]['dataset']['type'] == 'W'
    with pytest.raises(ValueError, match='not in tasks'):
        train_datasets(['derain'], 'data', PAIR, CLEAN,
                       repeats=dict(deblur=2))
    with pytest.raises(ValueError, match='int >= 1'):
        train_datasets(['derain'], 'data', PAIR, CLEAN,
                       repeats=dict(derain=0))
    with pytest.raises(ValueError, match='unknown tasks'):
        train_datasets(['desnow'], 'data', PAIR, CLEAN)


def test_test_sets_names():
    names = [n for n, _ in make_test_sets(FIVE_TASKS, 'data', PAIR, CLEAN)]
    assert names == ['CBSD68-s25', 'Rain100L', 'SOTS', 'GoPro', 'LOL']
    three = make_test_sets(THREE_TASKS, 'data', PAIR, CLEAN,
                           noise_sigmas=(15, 25, 50))
    assert [n for n, _ in three][:3] == ['CBSD68-s15', 'CBSD68-s25',
                                         'CBSD68-s50']
    assert all(d['test_mode'] for _, d in three)
    extra = make_test_sets(['denoise'], 'data', PAIR, CLEAN,
                           sets=dict(denoise=['urban100', 'kodak24']))
    assert [n for n, _ in extra] == ['Urban100-s25', 'Kodak24-s25']
    with pytest.raises(ValueError, match='no test set'):
        make_test_sets(['derain'], 'data', PAIR, CLEAN, sets=dict(derain='x'))
    mini = make_test_sets(FIVE_TASKS, 'm', PAIR, CLEAN, layout=MINI_LAYOUT,
                          names=MINI_SET_NAMES)
    assert [n for n, _ in mini] == ['Noise-s25', 'Rain', 'Haze', 'Blur',
                                    'LowLight']
