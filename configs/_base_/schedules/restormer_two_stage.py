# SLER-IR's schedule for a model without routing (the Restormer baselines):
# the same epochs, optimizer, restarted cosine and batch sizes (10, then 20
# from epoch 15); only the batch size changes at the switch.
_base_ = './sler_ir_two_stage.py'

custom_hooks = [
    dict(
        type='RoutingStageSwitchHook',
        switch_epoch={{_base_.stage1_epochs}},
        train_batch_size={{_base_.stage2_batch_size}},
        switch_model_stage=False),
]
# Every parameter gets a gradient in every step.
model_wrapper_cfg = None
