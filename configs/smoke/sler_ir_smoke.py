# A tiny SLER-IR (CLIP tower, GLGF, routed experts) on two generated
# degradations (noise, dark): both training stages through
# RoutingStageSwitchHook, with per-set PSNR/SSIM validation.
# Make the data with `python tests/helpers/make_smoke_pairs.py data/smoke_pairs`.
_base_ = '../_base_/default_runtime.py'
from sler_ir_mm.engine.schedules import two_stage_schedule

data_root = 'data/smoke_pairs'
tasks = ('noise', 'dark')
stage1_epochs, stage2_epochs = 2, 2
max_epochs = stage1_epochs + stage2_epochs

model = dict(
    type='SLERRestorer',
    generator=dict(
        type='SLERNet',
        dim=8,
        num_blocks=(1, 1, 1, 1),
        num_refinement_blocks=1,
        heads=(1, 1, 2, 2),
        ffn_expansion_factor=2.66,
        bias=False,
        LayerNorm_type='WithBias',
        num_experts=3),
    # in_channels, num_layers and num_experts come from the encoder/backbone.
    router=dict(type='SphericalRouter', embed_dim=16, temperature=0.1),
    # A tiny open_clip tower with random weights, trained (frozen random
    # features would not tell degradations apart); it serves both the
    # degradation and the content side. The real configs load CLIP weights
    # from a local `checkpoint` and keep the towers frozen.
    degradation_encoder=dict(
        type='CLIPImageEncoder',
        vision_cfg=dict(
            image_size=32, layers=2, width=32, patch_size=8, head_width=16),
        embed_dim=32,
        random_init=True,
        frozen=False),
    # Input dims and the backbone's layer channels are filled in.
    glgf=dict(type='GLGF', prior_dim=16, num_heads=2),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    contrastive_loss=dict(
        type='HypersphericalContrastiveLoss', margin=0.5, loss_weight=1.0),
    data_preprocessor=dict(
        type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))


def task_dataset(task, split, label, train):
    pipeline = [
        dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
        dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
        dict(type='SetValues', dictionary=dict(degradation_label=label)),
    ]
    if train:
        pipeline += [
            dict(type='SetValues', dictionary=dict(scale=1)),
            dict(type='PairedRandomCrop', gt_patch_size=32),
            dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
                 direction='horizontal'),
        ]
    pipeline.append(dict(type='PackInputs', meta_keys=['degradation_label']))
    return dict(
        type='BasicImageDataset',
        metainfo=dict(dataset_type=f'smoke_{task}', task_name=task),
        data_root=data_root,
        data_prefix=dict(img=f'{task}/{split}/input',
                         gt=f'{task}/{split}/target'),
        pipeline=pipeline)


# The contrastive loss needs a batch with both same-task and other-task pairs.
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        # Each task keeps its own name in its metainfo.
        ignore_keys=['dataset_type', 'task_name'],
        datasets=[
            task_dataset(task, 'train', label, train=True)
            for label, task in enumerate(tasks)
        ]))

val_dataloader = [
    dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=task_dataset(task, 'val', label, train=False))
    for label, task in enumerate(tasks)
]
val_evaluator = [[
    dict(type='PSNR', prefix=task),
    dict(type='SSIM', prefix=task),
] for task in tasks]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# Both stages through the project's two-stage schedule: one cosine per
# stage (the learning rate restarts at the stage switch), the switch to
# stage 2 and to batch 8; validation after every other epoch.
_schedule = two_stage_schedule(
    stage1_epochs,
    stage2_epochs,
    stage2_batch_size=8,
    extra_hooks=[dict(type='RouteDiagnosticsHook', per_task=4,
                      batch_size=4)])
train_cfg = dict(_schedule['train_cfg'], val_interval=2)
param_scheduler = _schedule['param_scheduler']
custom_hooks = _schedule['custom_hooks']
del _schedule, two_stage_schedule
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999)))
# Under DDP (tools/dist_train.sh): a step trains only the experts its samples
# took, and stage 2 freezes the routing path, so some parameters get no
# gradient in a step.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)

default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=1, by_epoch=True))
log_processor = dict(by_epoch=True, window_size=1)
