# The 5-task all-in-one protocol (AdaIR / MoCE-IR, the paper's Table 2):
# train on BSD400 + WED (noise 15/25/50 on the fly), Rain100L, RESIDE OTS,
# GoPro and LOL v1 with the PromptIR/AdaIR repeat factors; test on CBSD68 at
# sigma 25 (seeded noise), Rain100L, SOTS-outdoor, GoPro and LOL, one set per
# MultiTestLoop entry, PSNR/SSIM on RGB in [0, 255] without border crop.
# Folder layout: sler_ir_mm/datasets/layouts.py (AdaIR's data/ folder).
# (An empty _base_ keeps MMEngine's plain-dict parsing, which the imports
# below would otherwise switch to its lazy-import mode.)
_base_ = []
from sler_ir_mm.datasets.layouts import FIVE_TASKS
from sler_ir_mm.datasets.protocols import test_sets, train_datasets

data_root = 'data'
patch_size = 128
# Keys every sample has (a batch mixes tasks, and MMagic's DataSample.stack
# needs the same metainfo keys in all its samples).
meta_keys = ['degradation_label', 'task_name']

# A bad image stops training with an error naming the file: unreadable
# (LoadImageFromFileChecked), a pair of different sizes or smaller than the
# patch (CheckPairedSize; keep its min_size equal to the crop's
# gt_patch_size). To skip such samples and log them instead, in your
# config: `train_dataloader = set_on_error(_base_.train_dataloader,
# 'skip')` (sler_ir_mm.datasets.bad_samples). Test pipelines always raise.

# Paired tasks: crop the same 128 x 128 patch of both images, then one of
# the 8 flips/rotations.
train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='CheckPairedSize', min_size=patch_size),
    dict(type='PairedRandomCrop', gt_patch_size=patch_size),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
         direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
         direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs', meta_keys=meta_keys),
]
# Denoising: the clean patch is noised on the fly (uint8, clipped), with the
# sigma its dataset carries.
train_noise_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='CheckPairedSize', min_size=patch_size),
    dict(type='PairedRandomCrop', gt_patch_size=patch_size),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
         direction='horizontal'),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
         direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='AddGaussianNoise'),
    dict(type='PackInputs', meta_keys=meta_keys),
]
# Any size restores (the model pads); a pair must have one size.
test_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='CheckPairedSize'),
    dict(type='PackInputs', meta_keys=meta_keys),
]
# Test noise is seeded per image: two runs give identical scores.
test_noise_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='AddGaussianNoise', seed=0),
    dict(type='PackInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=10,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=train_datasets(FIVE_TASKS, data_root, train_pipeline,
                                train_noise_pipeline)))

_sets = test_sets(FIVE_TASKS, data_root, test_pipeline, test_noise_pipeline,
                  noise_sigmas=(25, ))
val_dataloader = [
    dict(
        batch_size=1,
        num_workers=4,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dataset) for _, dataset in _sets
]
# RGB, no border crop (add convert_to='Y' for Y-channel scores).
val_evaluator = [[
    dict(type='PSNR', prefix=name),
    dict(type='SSIM', prefix=name),
    dict(type='HarmRate', prefix=name),
] for name, _ in _sets]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')

del FIVE_TASKS, test_sets, train_datasets, _sets
