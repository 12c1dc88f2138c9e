# The plain MMagic Restormer baseline of configs/sler_ir_mini_cdd.py (the
# mini benchmark's singles + mixes training protocol): the model of
# configs/restormer/restormer_mini_5task.py on that config's data and
# schedule.
#   python tools/train.py configs/restormer/restormer_mini_cdd.py
_base_ = ['../sler_ir_mini_cdd.py']
from sler_ir_mm.engine.schedules import two_stage_schedule

model = dict(
    _delete_=True,
    type='BaseEditModel',
    generator=dict(
        type='Restormer',
        inp_channels=3,
        out_channels=3,
        dim=16,
        num_blocks=(1, 1, 1, 1),
        num_refinement_blocks=1,
        heads=(1, 2, 4, 8),
        ffn_expansion_factor=2.66,
        bias=False,
        LayerNorm_type='WithBias'),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(
        type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
# Only the batch size changes at the switch.
custom_hooks = two_stage_schedule(
    _base_.stage1_epochs,
    _base_.stage2_epochs,
    _base_.stage2_batch_size,
    switch_model_stage=False)['custom_hooks']
del two_stage_schedule
model_wrapper_cfg = None
