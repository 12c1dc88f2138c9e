# The paper's schedule (Sec. 4.1): Adam (0.9, 0.999), lr 2e-4 with cosine
# decay restarted at the stage switch; stage 1 (probabilistic routing,
# L1 + alpha * L_HC) for 15 epochs at batch 10, stage 2 (deterministic
# routing, frozen router, L1) for 80 epochs at batch 20. Batch sizes are per
# GPU: with N GPUs the total batch is N times larger.
# It brings the runtime with it (checkpointing and logging are by epoch).
_base_ = '../default_runtime.py'
from sler_ir_mm.engine.schedules import two_stage_schedule

stage1_epochs = 15
stage2_epochs = 80
stage2_batch_size = 20

# Validating the five test sets (GoPro has 1,111 720p images) costs hours:
# the loop validates at the end; use tools/test.py for a checkpoint. One
# cosine per stage: the learning rate restarts at the stage switch.
# RouteDiagnosticsHook logs, after each stage-1 epoch, how the router
# separates the tasks on a fixed probe of training patches. A config that
# inherits this one sets other epochs with with_stage_epochs (see
# configs/sler_ir_mini_5task.py), tools with set_stage_epochs
# (tools/train.py --stage-epochs): sler_ir_mm/engine/schedules.py.
_schedule = two_stage_schedule(
    stage1_epochs,
    stage2_epochs,
    stage2_batch_size,
    extra_hooks=[dict(type='RouteDiagnosticsHook', per_task=16)])
train_cfg = _schedule['train_cfg']
param_scheduler = _schedule['param_scheduler']
custom_hooks = _schedule['custom_hooks']
del _schedule, two_stage_schedule

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999)))
# Under DDP a step trains only the experts its samples took, and stage 2
# freezes the routing path, so some parameters get no gradient in a step.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)

default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=1, by_epoch=True, max_keep_ckpts=3,
                    save_last=True))
log_processor = dict(by_epoch=True, window_size=100)
