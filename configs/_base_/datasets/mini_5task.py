# The embedded mini benchmark, version 2: the five degradations (noise,
# rain, haze, motion blur, low light) and five mixes of them synthesised
# with fixed seeds on scikit-image's sample photos
# (sler_ir_mm/datasets/mini_benchmark.py). Training: the five single tasks,
# 48 samples each (96 x 96 crops, 64 x 64 patches); the mixes are seen only
# at test time (zero-shot; configs/_base_/datasets/mini_cdd.py trains on
# them too). Test: 24 images per set (128 x 128, 6 crops of each of 4 other
# photos), the five single tasks then the five mixes. Built under data_root
# the first time a dataset is created (MiniBenchmarkDataset), in about 30 s;
# or
#   python tools/misc/build_mini_benchmark.py data/sler_ir_mini5
# It is a smoke benchmark for laptops, not the paper's.
_base_ = './allinone_5task.py'

from sler_ir_mm.datasets.layouts import FIVE_TASKS
from sler_ir_mm.datasets.mini_benchmark import (MINI_LAYOUT, MINI_SET_NAMES,
                                                MIX_TASKS)
from sler_ir_mm.datasets.protocols import test_sets, train_datasets

data_root = 'data/sler_ir_mini5'
patch_size = 64

# The 5-task pipelines, with 64 x 64 training patches (the crop and the
# size check's minimum).
_patch_keys = dict(
    PairedRandomCrop='gt_patch_size', CheckPairedSize='min_size')
train_pipeline = [{
    **t, _patch_keys[t['type']]: patch_size
} if t['type'] in _patch_keys else t for t in _base_.train_pipeline]
train_noise_pipeline = [{
    **t, _patch_keys[t['type']]: patch_size
} if t['type'] in _patch_keys else t for t in _base_.train_noise_pipeline]
del _patch_keys

# A few small images: loading in the main process is fastest on 2 cores.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        datasets=train_datasets(
            FIVE_TASKS,
            data_root,
            train_pipeline,
            train_noise_pipeline,
            layout=MINI_LAYOUT,
            wrapper='MiniBenchmarkDataset')))

_sets = test_sets(
    FIVE_TASKS + MIX_TASKS,
    data_root,
    _base_.test_pipeline,
    _base_.test_noise_pipeline,
    layout=MINI_LAYOUT,
    noise_sigmas=(25, ),
    wrapper='MiniBenchmarkDataset',
    names=MINI_SET_NAMES)
val_dataloader = [{
    **_base_.val_dataloader[0], 'num_workers': 0,
    'dataset': dataset
} for _, dataset in _sets]
val_evaluator = [[
    dict(type='PSNR', prefix=name),
    dict(type='SSIM', prefix=name),
    dict(type='HarmRate', prefix=name),
] for name, _ in _sets]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

del FIVE_TASKS, MINI_LAYOUT, MINI_SET_NAMES, MIX_TASKS, test_sets, \
    train_datasets, _sets
