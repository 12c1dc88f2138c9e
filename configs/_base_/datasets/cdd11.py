# CDD-11, OneRestore's composite-degradation protocol (ECCV 2024): train on
# the 11 types of CDD-11_train (low, haze, rain, snow and their 7 mixes, each
# against clear/), test on the 11 types of CDD-11_test, one MultiTestLoop
# set per type named by its folder. Each type is a degradation class of its
# own (labels 0..10; a mix is not labelled as its components). Pipelines
# and loader settings are the 5-task protocol's. Scores per set: MMagic's
# PSNR/SSIM on the float output, SkPSNR/SkSSIM as OneRestore scores (8-bit
# RGB, scikit-image's defaults) and the harm rate. The protocol's figure is
# the mean of the 11 per-type SkPSNR/SkSSIM.
# Folder layout: sler_ir_mm/datasets/cdd11.py (data/CDD-11_train,
# data/CDD-11_test).
_base_ = './allinone_5task.py'

from sler_ir_mm.datasets.cdd11 import (CDD11_LAYOUT, CDD11_SET_NAMES,
                                       CDD11_TASKS)
from sler_ir_mm.datasets.protocols import test_sets, train_datasets

train_dataloader = dict(
    dataset=dict(
        datasets=train_datasets(CDD11_TASKS, _base_.data_root,
                                _base_.train_pipeline, _base_.train_pipeline,
                                layout=CDD11_LAYOUT)))

_sets = test_sets(CDD11_TASKS, _base_.data_root, _base_.test_pipeline,
                  _base_.test_pipeline, layout=CDD11_LAYOUT,
                  names=CDD11_SET_NAMES)
val_dataloader = [{
    **_base_.val_dataloader[0], 'dataset': dataset
} for _, dataset in _sets]
val_evaluator = [[
    dict(type='PSNR', prefix=name),
    dict(type='SSIM', prefix=name),
    dict(type='SkimagePSNRSSIM', prefix=name),
    dict(type='HarmRate', prefix=name),
] for name, _ in _sets]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

del CDD11_LAYOUT, CDD11_SET_NAMES, CDD11_TASKS, test_sets, train_datasets, \
    _sets
