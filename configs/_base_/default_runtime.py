# Runtime settings shared by every sler_ir_mm config.
default_scope = 'mmagic'
# Registers sler_ir_mm's components and applies its runtime fixes.
custom_imports = dict(imports=['sler_ir_mm'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Checkpoints go to the work dir itself, so `--resume` finds the latest.
    checkpoint=dict(
        type='CheckpointHook',
        interval=5000,
        by_epoch=False,
        max_keep_ckpts=3,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Stops at the first NaN/Inf loss, naming the batch's files, before a
    # checkpoint of the poisoned weights can be written.
    finite_loss_guard=dict(type='FiniteLossGuardHook'),
    # Each epoch's randomness (crops, flips, training noise, the router's
    # queue draw) depends on (seed, epoch) only, so `--resume` replays the
    # remaining epochs exactly (MMEngine checkpoints hold no RNG state).
    epoch_seed=dict(type='EpochSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)

log_level = 'INFO'
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)

load_from = None
resume = False

# How MMagic's inferencer (mmagic.apis.MMagicInferencer, docs/tools.md)
# reads a user's image: it takes `inference_pipeline` before the test
# pipelines, which also load and check a clean image it does not have. The
# degraded image only, RGB as the models were trained on.
inference_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='PackInputs'),
]

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='ConcatImageVisualizer',
    vis_backends=vis_backends,
    fn_key='gt_path',
    img_keys=['gt_img', 'input', 'pred_img'],
    bgr2rgb=True)
