# The 3-task all-in-one protocol (AirNet / PromptIR, the paper's Table 1):
# train on BSD400 + WED (noise 15/25/50 on the fly), Rain100L and RESIDE OTS
# with PromptIR's repeat factors; test on CBSD68 at sigma 15, 25 and 50
# (seeded noise), Rain100L and SOTS-outdoor. Pipelines, loaders and metrics
# are the 5-task protocol's (PromptIR's data/ folder layout, see
# sler_ir_mm/datasets/layouts.py).
_base_ = './allinone_5task.py'

from sler_ir_mm.datasets.layouts import THREE_TASKS
from sler_ir_mm.datasets.protocols import test_sets, train_datasets

train_dataloader = dict(
    dataset=dict(
        datasets=train_datasets(THREE_TASKS, _base_.data_root,
                                _base_.train_pipeline,
                                _base_.train_noise_pipeline)))

_sets = test_sets(THREE_TASKS, _base_.data_root, _base_.test_pipeline,
                  _base_.test_noise_pipeline, noise_sigmas=(15, 25, 50))
# The 5-task loader settings, one loader per test set.
val_dataloader = [{
    **_base_.val_dataloader[0], 'dataset': dataset
} for _, dataset in _sets]
val_evaluator = [[
    dict(type='PSNR', prefix=name),
    dict(type='SSIM', prefix=name),
    dict(type='HarmRate', prefix=name),
] for name, _ in _sets]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

del THREE_TASKS, test_sets, train_datasets, _sets
