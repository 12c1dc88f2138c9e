"""The degradation encoder's pretraining data and the routing probe."""
import random

import numpy as np
import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from mmagic.registry import DATASETS
from mmengine.config import Config

from sler_ir_mm.datasets import (SyntheticDegradationDataset, probe_samples,
                                 task_subsets)
from sler_ir_mm.datasets.mini_benchmark import TEST_PHOTOS


def test_synthetic_views_are_seeded_and_labelled():
    data = SyntheticDegradationDataset(photos=['camera', 'coins'],
                                       num_samples=50, crop_size=48,
                                       view_size=32)
    view, label = data[7]
    assert view.shape == (3, 32, 32) and view.dtype == torch.float32
    assert 0 <= float(view.min()) and float(view.max()) <= 1
    # 8-bit levels, like a saved image (up to the view's resampling).
    again, label2 = SyntheticDegradationDataset(
        photos=['camera', 'coins'], num_samples=50, crop_size=48,
        view_size=32)[7]
    assert torch.equal(view, again) and label == label2
    labels = [data[i][1] for i in range(50)]
    assert set(labels) == set(range(5))
    assert not torch.equal(data[8][0], view)
    with pytest.raises(IndexError):
        data[50]


def test_synthetic_data_never_uses_the_test_photos():
    assert not set(SyntheticDegradationDataset().photos) & set(TEST_PHOTOS)


@pytest.mark.parametrize('kwargs, match', [
    (dict(photos='camera'), 'photos'),
    (dict(tasks=['desnow']), 'tasks'),
    (dict(view_scale=(1.2, 0.8)), 'view_scale'),
    (dict(num_samples=0), 'num_samples'),
])
def test_synthetic_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticDegradationDataset(**kwargs)


@pytest.fixture
def smoke_train_set(repo_root, tmp_path):
    make_smoke_pairs(str(tmp_path / 'smoke'), num_train=3, num_val=1,
                     size=40)
    cfg = Config.fromfile(f'{repo_root}/configs/smoke/sler_ir_smoke.py')
    dataset = cfg.train_dataloader.dataset
    for sub in dataset.datasets:
        sub.data_root = str(tmp_path / 'smoke')
    return dataset.to_dict()


def test_probe_is_reproducible_and_leaves_the_rngs_alone(smoke_train_set):
    dataset = DATASETS.build(smoke_train_set)
    assert list(task_subsets(dataset)) == ['noise', 'dark']
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    before = (random.random(), np.random.rand(), torch.rand(1))
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    samples, tasks = probe_samples(dataset, per_task=4, seed=3)
    assert (random.random(), np.random.rand(), torch.rand(1)) == before
    assert tasks == ['noise'] * 4 + ['dark'] * 4
    again, _ = probe_samples(dataset, per_task=4, seed=3)
    assert all(torch.equal(a['inputs'], b['inputs'])
               for a, b in zip(samples, again))
    # Random crops of the training pipeline (32 x 32 of 40 x 40 images).
    assert samples[0]['inputs'].shape == (3, 32, 32)
    other, _ = probe_samples(dataset, per_task=4, seed=4)
    assert any(not torch.equal(a['inputs'], b['inputs'])
               for a, b in zip(samples, other))


def test_views_of_a_training_set(smoke_train_set):
    data = DATASETS.build(dict(type='DatasetDegradationViews',
                               dataset=smoke_train_set, num_samples=20,
                               view_size=16, seed=2))
    assert data.tasks == ('noise', 'dark')
    view, label = data[5]
    assert view.shape == (3, 16, 16) and label in (0, 1)
    assert torch.equal(data[5][0], view)
    assert {data[i][1] for i in range(20)} == {0, 1}
