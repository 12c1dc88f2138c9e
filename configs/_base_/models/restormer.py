# Plain MMagic Restormer (dim 48, blocks [4, 6, 6, 8], 4 refinement blocks):
# the width of one SLER-IR expert path, i.e. SLER-IR's active backbone
# without routing, encoders or GLGF.
model = dict(
    type='BaseEditModel',
    generator=dict(
        type='Restormer',
        inp_channels=3,
        out_channels=3,
        dim=48,
        num_blocks=(4, 6, 6, 8),
        num_refinement_blocks=4,
        heads=(1, 2, 4, 8),
        ffn_expansion_factor=2.66,
        bias=False,
        LayerNorm_type='WithBias'),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(
        type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
