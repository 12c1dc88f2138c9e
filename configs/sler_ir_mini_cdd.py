# SLER-IR on the mini benchmark's second training protocol, "mini_cdd": as
# CDD-11 does, training sees the five mixes as well as the five single
# degradations, each mix a degradation class of its own (labels 5-9; L_HC
# keeps every class apart). Same test sets as configs/sler_ir_mini_5task.py
# (singles and mixes), and the same budget in iterations: twice the samples
# per epoch, so half the epochs (3 of stage 1, 8 of stage 2).
#   python tools/train.py configs/sler_ir_mini_cdd.py
#   python tools/test.py configs/sler_ir_mini_cdd.py work_dirs/sler_ir_mini_cdd/epoch_11.pth
_base_ = ['./sler_ir_mini_5task.py']
from sler_ir_mm.datasets.layouts import FIVE_TASKS
from sler_ir_mm.datasets.mini_benchmark import MINI_LAYOUT, MIX_TASKS
from sler_ir_mm.datasets.protocols import train_datasets
from sler_ir_mm.engine.schedules import with_stage_epochs

train_dataloader = dict(
    dataset=dict(
        datasets=train_datasets(
            FIVE_TASKS + MIX_TASKS,
            _base_.data_root,
            _base_.train_pipeline,
            _base_.train_noise_pipeline,
            layout=MINI_LAYOUT,
            wrapper='MiniBenchmarkDataset')))

stage1_epochs = 3
stage2_epochs = 8
max_epochs = stage1_epochs + stage2_epochs
_schedule = with_stage_epochs(_base_, stage1_epochs, stage2_epochs,
                              _base_.stage2_batch_size)
train_cfg = _schedule['train_cfg']
param_scheduler = _schedule['param_scheduler']
custom_hooks = _schedule['custom_hooks']
default_hooks = dict(checkpoint=dict(interval=3))
del _schedule, with_stage_epochs, FIVE_TASKS, MINI_LAYOUT, MIX_TASKS, \
    train_datasets
