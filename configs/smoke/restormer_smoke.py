# A tiny MMagic Restormer in BaseEditModel on a few paired images: the smoke
# test of the train/test tools (training, MultiValLoop PSNR/SSIM, checkpoints,
# resume). Make the data with `python tests/helpers/make_smoke_pairs.py` or point
# `data_root` at any folder with noise/{train,val}/{input,target}.
_base_ = '../_base_/default_runtime.py'

data_root = 'data/smoke_pairs'

model = dict(
    type='BaseEditModel',
    generator=dict(
        type='Restormer',
        inp_channels=3,
        out_channels=3,
        dim=8,
        num_blocks=[1, 1, 1, 1],
        num_refinement_blocks=1,
        heads=[1, 1, 2, 2],
        ffn_expansion_factor=2.66,
        bias=False,
        LayerNorm_type='WithBias',
        dual_pixel_task=False),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(
        type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))

train_pipeline = [
    dict(type='LoadImageFromFile', key='img', color_type='color',
         channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', color_type='color',
         channel_order='rgb'),
    dict(type='SetValues', dictionary=dict(scale=1)),
    dict(type='PairedRandomCrop', gt_patch_size=32),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5,
         direction='horizontal'),
    dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
    dict(type='PackInputs'),
]
val_pipeline = [
    dict(type='LoadImageFromFile', key='img', color_type='color',
         channel_order='rgb'),
    dict(type='LoadImageFromFile', key='gt', color_type='color',
         channel_order='rgb'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BasicImageDataset',
        metainfo=dict(dataset_type='smoke_pairs', task_name='denoising'),
        data_root=data_root,
        data_prefix=dict(img='noise/train/input', gt='noise/train/target'),
        pipeline=train_pipeline))

val_dataloader = [
    dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='BasicImageDataset',
            metainfo=dict(dataset_type='smoke_pairs', task_name='denoising'),
            data_root=data_root,
            data_prefix=dict(img='noise/val/input', gt='noise/val/target'),
            pipeline=val_pipeline)),
]
val_evaluator = [[
    dict(type='PSNR', prefix='smoke'),
    dict(type='SSIM', prefix='smoke'),
]]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_iters = 8
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=4)
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999)))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=False, T_max=max_iters, eta_min=1e-6)

default_hooks = dict(
    logger=dict(interval=1, log_metric_by_epoch=False),
    checkpoint=dict(interval=4, save_best='smoke/PSNR', rule='greater'))
# No smoothing: every logged loss is that iteration's loss.
log_processor = dict(window_size=1)
