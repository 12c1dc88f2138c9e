# SLER-IR on the embedded mini benchmark: the quick-start job. It builds the
# data if missing (scikit-image's photos, five synthetic degradations),
# trains both stages and tests on the five test sets in well under 15
# minutes on 2 CPU cores:
#   python tools/train.py configs/sler_ir_mini_5task.py
#   python tools/test.py configs/sler_ir_mini_5task.py work_dirs/sler_ir_mini_5task/epoch_22.pth
# A small SLER-IR (dim 16, one block per level, 3 experts per layer, GLGF)
# with a tiny random CLIP tower that is trained (frozen random features do
# not tell degradations apart; the real configs load CLIP weights). The
# matching baseline is configs/restormer/restormer_mini_5task.py.
_base_ = [
    './_base_/models/sler_ir.py',
    './_base_/datasets/mini_5task.py',
    './_base_/schedules/sler_ir_two_stage.py',
]

model = dict(
    generator=dict(
        dim=16,
        num_blocks=(1, 1, 1, 1),
        num_refinement_blocks=1,
        heads=(1, 2, 4, 8)),
    router=dict(embed_dim=32),
    # One tiny tower serves the degradation and the content side; 64 x 64
    # views keep the noise and blur a 64 x 64 patch has.
    degradation_encoder=dict(
        _delete_=True,
        type='CLIPImageEncoder',
        vision_cfg=dict(
            image_size=64, layers=2, width=32, patch_size=8, head_width=16),
        embed_dim=32,
        random_init=True,
        frozen=False),
    glgf=dict(prior_dim=32, num_heads=2))

# 240 samples per epoch: 6 epochs of stage 1 at batch 8 (180 iterations),
# 16 epochs of stage 2 at batch 16 (240 iterations).
stage1_epochs = 6
stage2_epochs = 16
stage2_batch_size = 16
max_epochs = stage1_epochs + stage2_epochs
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# A larger learning rate than the paper's 2e-4 for the short budget.
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(periods=[stage1_epochs, stage2_epochs])
custom_hooks = [
    dict(
        type='RoutingStageSwitchHook',
        switch_epoch=stage1_epochs,
        train_batch_size=stage2_batch_size),
]
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=6, max_keep_ckpts=3))
log_processor = dict(window_size=10)
