# SLER-IR as in the paper (Sec. 3-4.1): a Restormer-sized expert backbone
# (dim 48, blocks [4, 6, 6, 8], 4 refinement blocks) with C = 3 experts in
# each of its 8 block stacks, routed per image on the hypersphere from the
# DA-CLIP degradation embedding; GLGF injects the restoration prior built
# from the content (CLS + patch tokens) and degradation (4 x 4 crop CLS)
# embeddings into every routed layer.
#
# CLIP weights are read from a local file, never downloaded: put DA-CLIP's
# `daclip_ViT-B-32.pt` (https://github.com/Algolzw/daclip-uir) at the path
# below or change it (docs/data.md, "CLIP weights").
model = dict(
    type='SLERRestorer',
    generator=dict(
        type='SLERNet',
        inp_channels=3,
        out_channels=3,
        dim=48,
        num_blocks=(4, 6, 6, 8),
        num_refinement_blocks=4,
        heads=(1, 2, 4, 8),
        ffn_expansion_factor=2.66,
        bias=False,
        LayerNorm_type='WithBias',
        num_experts=3),
    # in_channels, num_layers and num_experts come from the encoder and
    # the backbone.
    router=dict(type='SphericalRouter', embed_dim=128, temperature=0.1),
    # DA-CLIP serves both sides: its controller gives the degradation
    # embedding, its controlled CLIP tower the content one. Frozen.
    degradation_encoder=dict(
        type='DACLIPEncoder',
        model_name='ViT-B-32',
        checkpoint='checkpoints/daclip_ViT-B-32.pt'),
    content_encoder=None,
    # Input dims and the backbone's layer channels are filled in.
    glgf=dict(type='GLGF'),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    # loss_weight is the paper's alpha.
    contrastive_loss=dict(
        type='HypersphericalContrastiveLoss', margin=0.5, loss_weight=1.0),
    # Route images larger than the 128 x 128 training patches on 128 x 128
    # tiles (at most route_max_tiles_per_side=2 per side, i.e. 2 x 2, mean
    # expert probabilities), so that the router sees a test image at the
    # scale of its training patches. Keep it equal to the training patch
    # size.
    route_tile_size=128,
    test_cfg=dict(routing='auto'),
    data_preprocessor=dict(
        type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
