# SLER-IR's schedule for a model without routing (the Restormer baselines):
# the same epochs, optimizer, restarted cosine and batch sizes (10, then 20
# from epoch 15); only the batch size changes at the switch.
_base_ = './sler_ir_two_stage.py'
from sler_ir_mm.engine.schedules import two_stage_schedule

custom_hooks = two_stage_schedule(
    _base_.stage1_epochs,
    _base_.stage2_epochs,
    _base_.stage2_batch_size,
    switch_model_stage=False)['custom_hooks']
del two_stage_schedule
# Every parameter gets a gradient in every step.
model_wrapper_cfg = None
