custom_hooks = [
    dict(switch_epoch=6, train_batch_size=16, type='RoutingStageSwitchHook'),
    dict(per_task=16, type='RouteDiagnosticsHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'sler_ir_mm',
    ])
data_root = 'data/sler_ir_mini5'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=True,
        interval=6,
        max_keep_ckpts=3,
        save_last=True,
        type='CheckpointHook'),
    epoch_seed=dict(type='EpochSeedHook'),
    finite_loss_guard=dict(type='FiniteLossGuardHook'),
    logger=dict(interval=10, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'))
default_scope = 'mmagic'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
launcher = 'none'
load_from = 'results/mini_study_2026-12-04/run_s0/seed0/sler_ir/epoch_22.pth'
log_level = 'INFO'
log_processor = dict(by_epoch=True, type='LogProcessor', window_size=10)
max_epochs = 22
meta_keys = [
    'degradation_label',
    'task_name',
]
model = dict(
    content_encoder=None,
    contrastive_loss=dict(
        loss_weight=1.0, margin=0.5, type='HypersphericalContrastiveLoss'),
    data_preprocessor=dict(
        mean=[
            0.0,
            0.0,
            0.0,
        ],
        std=[
            255.0,
            255.0,
            255.0,
        ],
        type='DataPreprocessor'),
    degradation_encoder=dict(
        recipe=dict(
            batch_size=64,
            data=dict(
                crop_size=96,
                noise_sigma=(
                    10.0,
                    55.0,
                ),
                photo_scale=(
                    0.6,
                    1.5,
                ),
                type='SyntheticDegradationDataset',
                view_scale=(
                    0.8,
                    1.25,
                ),
                view_size=64),
            encoder=dict(
                embed_dim=32,
                random_init=True,
                type='CLIPImageEncoder',
                vision_cfg=dict(
                    head_width=16,
                    image_size=64,
                    layers=2,
                    patch_size=8,
                    width=32)),
            iters=1500,
            lr=0.002,
            name='mini_degradation_encoder',
            save_interval=250,
            seed=0,
            val_samples=1000,
            warmup_iters=100,
            weight_decay=0.05),
        type='PretrainedDegradationEncoder'),
    generator=dict(
        LayerNorm_type='WithBias',
        bias=False,
        dim=16,
        ffn_expansion_factor=2.66,
        heads=(
            1,
            2,
            4,
            8,
        ),
        inp_channels=3,
        num_blocks=(
            1,
            1,
            1,
            1,
        ),
        num_experts=3,
        num_refinement_blocks=1,
        out_channels=3,
        type='SLERNet'),
    glgf=dict(num_heads=2, prior_dim=32, type='GLGF'),
    pixel_loss=dict(loss_weight=1.0, reduction='mean', type='L1Loss'),
    route_tile_size=64,
    router=dict(
        embed_dim=32,
        per_layer_centers=True,
        temperature=0.1,
        type='SphericalRouter'),
    test_cfg=dict(routing='auto'),
    type='SLERRestorer')
model_wrapper_cfg = dict(
    find_unused_parameters=True, type='MMDistributedDataParallel')
optim_wrapper = dict(
    optimizer=dict(betas=(
        0.9,
        0.999,
    ), lr=0.001, type='Adam'),
    type='OptimWrapper')
param_scheduler = dict(
    by_epoch=True,
    eta_min=1e-06,
    periods=[
        6,
        16,
    ],
    restart_weights=[
        1.0,
        1.0,
    ],
    type='CosineRestartLR')
patch_size = 64
randomness = dict(deterministic=False, diff_rank_seed=True, seed=0)
resume = False
stage1_epochs = 6
stage2_batch_size = 16
stage2_epochs = 16
test_cfg = dict(type='MultiTestLoop')
test_dataloader = [
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(gt='test/denoise/mini'),
                data_root='data/sler_ir_mini5',
                degradation_label=0,
                noise_sigma=25,
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(seed=0, type='AddGaussianNoise'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='denoise',
                test_mode=True,
                type='CleanImageDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/derain/mini/target',
                    img='test/derain/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=1,
                gt_name='same',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='derain',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/dehaze/mini/target',
                    img='test/dehaze/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=2,
                gt_name='haze',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='dehaze',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/deblur/mini/target',
                    img='test/deblur/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=3,
                gt_name='same',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='deblur',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/enhance/mini/target',
                    img='test/enhance/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=4,
                gt_name='same',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='lowlight',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
]
test_evaluator = [
    [
        dict(prefix='Noise-s25', type='PSNR'),
        dict(prefix='Noise-s25', type='SSIM'),
    ],
    [
        dict(prefix='Rain', type='PSNR'),
        dict(prefix='Rain', type='SSIM'),
    ],
    [
        dict(prefix='Haze', type='PSNR'),
        dict(prefix='Haze', type='SSIM'),
    ],
    [
        dict(prefix='Blur', type='PSNR'),
        dict(prefix='Blur', type='SSIM'),
    ],
    [
        dict(prefix='LowLight', type='PSNR'),
        dict(prefix='LowLight', type='SSIM'),
    ],
]
test_noise_pipeline = [
    dict(channel_order='rgb', key='img', type='LoadImageFromFileChecked'),
    dict(channel_order='rgb', key='gt', type='LoadImageFromFileChecked'),
    dict(seed=0, type='AddGaussianNoise'),
    dict(meta_keys=[
        'degradation_label',
        'task_name',
    ], type='PackInputs'),
]
test_pipeline = [
    dict(channel_order='rgb', key='img', type='LoadImageFromFileChecked'),
    dict(channel_order='rgb', key='gt', type='LoadImageFromFileChecked'),
    dict(type='CheckPairedSize'),
    dict(meta_keys=[
        'degradation_label',
        'task_name',
    ], type='PackInputs'),
]
train_cfg = dict(max_epochs=22, type='EpochBasedTrainLoop', val_interval=22)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        datasets=[
            dict(
                dataset=dict(
                    data_prefix=dict(gt='Train/Denoise'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=0,
                    noise_sigma=15,
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(type='AddGaussianNoise'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    task_name='denoise',
                    test_mode=False,
                    type='CleanImageDataset'),
                type='MiniBenchmarkDataset'),
            dict(
                dataset=dict(
                    data_prefix=dict(gt='Train/Denoise'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=0,
                    noise_sigma=25,
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(type='AddGaussianNoise'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    task_name='denoise',
                    test_mode=False,
                    type='CleanImageDataset'),
                type='MiniBenchmarkDataset'),
            dict(
                dataset=dict(
                    data_prefix=dict(gt='Train/Denoise'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=0,
                    noise_sigma=50,
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(type='AddGaussianNoise'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    task_name='denoise',
                    test_mode=False,
                    type='CleanImageDataset'),
                type='MiniBenchmarkDataset'),
            dict(
                dataset=dict(
                    data_prefix=dict(
                        gt='Train/Derain/gt', img='Train/Derain/rainy'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=1,
                    gt_name='rain',
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    task_name='derain',
                    test_mode=False,
                    type='DegradationPairDataset'),
                type='MiniBenchmarkDataset'),
            dict(
                dataset=dict(
                    data_prefix=dict(
                        gt='Train/Dehaze/original',
                        img='Train/Dehaze/synthetic'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=2,
                    gt_name='haze',
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    recursive=True,
                    task_name='dehaze',
                    test_mode=False,
                    type='DegradationPairDataset'),
                type='MiniBenchmarkDataset'),
            dict(
                dataset=dict(
                    data_prefix=dict(
                        gt='Train/Deblur/sharp', img='Train/Deblur/blur'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=3,
                    gt_name='same',
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    task_name='deblur',
                    test_mode=False,
                    type='DegradationPairDataset'),
                type='MiniBenchmarkDataset'),
            dict(
                dataset=dict(
                    data_prefix=dict(
                        gt='Train/Enhance/gt', img='Train/Enhance/low'),
                    data_root='data/sler_ir_mini5',
                    degradation_label=4,
                    gt_name='same',
                    pipeline=[
                        dict(
                            channel_order='rgb',
                            key='img',
                            type='LoadImageFromFileChecked'),
                        dict(
                            channel_order='rgb',
                            key='gt',
                            type='LoadImageFromFileChecked'),
                        dict(min_size=64, type='CheckPairedSize'),
                        dict(gt_patch_size=64, type='PairedRandomCrop'),
                        dict(
                            direction='horizontal',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            direction='vertical',
                            flip_ratio=0.5,
                            keys=[
                                'img',
                                'gt',
                            ],
                            type='Flip'),
                        dict(
                            keys=[
                                'img',
                                'gt',
                            ],
                            transpose_ratio=0.5,
                            type='RandomTransposeHW'),
                        dict(
                            meta_keys=[
                                'degradation_label',
                                'task_name',
                            ],
                            type='PackInputs'),
                    ],
                    task_name='lowlight',
                    test_mode=False,
                    type='DegradationPairDataset'),
                type='MiniBenchmarkDataset'),
        ],
        type='ConcatDataset'),
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=True, type='DefaultSampler'))
train_noise_pipeline = [
    dict(channel_order='rgb', key='img', type='LoadImageFromFileChecked'),
    dict(channel_order='rgb', key='gt', type='LoadImageFromFileChecked'),
    dict(min_size=64, type='CheckPairedSize'),
    dict(gt_patch_size=64, type='PairedRandomCrop'),
    dict(
        direction='horizontal',
        flip_ratio=0.5,
        keys=[
            'img',
            'gt',
        ],
        type='Flip'),
    dict(
        direction='vertical',
        flip_ratio=0.5,
        keys=[
            'img',
            'gt',
        ],
        type='Flip'),
    dict(keys=[
        'img',
        'gt',
    ], transpose_ratio=0.5, type='RandomTransposeHW'),
    dict(type='AddGaussianNoise'),
    dict(meta_keys=[
        'degradation_label',
        'task_name',
    ], type='PackInputs'),
]
train_pipeline = [
    dict(channel_order='rgb', key='img', type='LoadImageFromFileChecked'),
    dict(channel_order='rgb', key='gt', type='LoadImageFromFileChecked'),
    dict(min_size=64, type='CheckPairedSize'),
    dict(gt_patch_size=64, type='PairedRandomCrop'),
    dict(
        direction='horizontal',
        flip_ratio=0.5,
        keys=[
            'img',
            'gt',
        ],
        type='Flip'),
    dict(
        direction='vertical',
        flip_ratio=0.5,
        keys=[
            'img',
            'gt',
        ],
        type='Flip'),
    dict(keys=[
        'img',
        'gt',
    ], transpose_ratio=0.5, type='RandomTransposeHW'),
    dict(meta_keys=[
        'degradation_label',
        'task_name',
    ], type='PackInputs'),
]
val_cfg = dict(type='MultiValLoop')
val_dataloader = [
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(gt='test/denoise/mini'),
                data_root='data/sler_ir_mini5',
                degradation_label=0,
                noise_sigma=25,
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(seed=0, type='AddGaussianNoise'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='denoise',
                test_mode=True,
                type='CleanImageDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/derain/mini/target',
                    img='test/derain/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=1,
                gt_name='same',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='derain',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/dehaze/mini/target',
                    img='test/dehaze/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=2,
                gt_name='haze',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='dehaze',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/deblur/mini/target',
                    img='test/deblur/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=3,
                gt_name='same',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='deblur',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
    dict(
        batch_size=1,
        dataset=dict(
            dataset=dict(
                data_prefix=dict(
                    gt='test/enhance/mini/target',
                    img='test/enhance/mini/input'),
                data_root='data/sler_ir_mini5',
                degradation_label=4,
                gt_name='same',
                pipeline=[
                    dict(
                        channel_order='rgb',
                        key='img',
                        type='LoadImageFromFileChecked'),
                    dict(
                        channel_order='rgb',
                        key='gt',
                        type='LoadImageFromFileChecked'),
                    dict(type='CheckPairedSize'),
                    dict(
                        meta_keys=[
                            'degradation_label',
                            'task_name',
                        ],
                        type='PackInputs'),
                ],
                task_name='lowlight',
                test_mode=True,
                type='DegradationPairDataset'),
            type='MiniBenchmarkDataset'),
        drop_last=False,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(shuffle=False, type='DefaultSampler')),
]
val_evaluator = [
    [
        dict(prefix='Noise-s25', type='PSNR'),
        dict(prefix='Noise-s25', type='SSIM'),
    ],
    [
        dict(prefix='Rain', type='PSNR'),
        dict(prefix='Rain', type='SSIM'),
    ],
    [
        dict(prefix='Haze', type='PSNR'),
        dict(prefix='Haze', type='SSIM'),
    ],
    [
        dict(prefix='Blur', type='PSNR'),
        dict(prefix='Blur', type='SSIM'),
    ],
    [
        dict(prefix='LowLight', type='PSNR'),
        dict(prefix='LowLight', type='SSIM'),
    ],
]
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    bgr2rgb=True,
    fn_key='gt_path',
    img_keys=[
        'gt_img',
        'input',
        'pred_img',
    ],
    type='ConcatImageVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'results/mini_study_2026-12-04/run_s0/seed0/sler_ir/test'
