# The mini set-up before the routing fixes, kept to measure what they do:
# the tiny CLIP tower trained from scratch with the restorer (random init,
# not frozen), the contrastive loss as one batch-mean hinge, one set of
# centers shared by all layers and clustered over the pooled rows of all
# layers, and test images routed whole (shrunk into the 64 x 64 view). Same
# budget as configs/sler_ir_mini_5task.py. It trains exactly as the code of
# that time did (same losses on the same machine and thread count).
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(
    degradation_encoder=dict(
        _delete_=True,
        type='CLIPImageEncoder',
        vision_cfg=dict(
            image_size=64, layers=2, width=32, patch_size=8, head_width=16),
        embed_dim=32,
        random_init=True,
        frozen=False),
    router=dict(per_layer_centers=False, balance='pooled'),
    contrastive_loss=dict(mode='batch_mean'),
    route_tile_size=None)
