# Paper Table 3, "L1 / Classifier": expert routing by a degradation
# classifier instead of the spherical router, trained with L1 only (the
# route is learnt through the soft mixture of stage 1).
_base_ = ['../sler_ir_5task.py']

model = dict(
    router=dict(_delete_=True, type='ClassifierRouter', num_classes=5),
    contrastive_loss=None)
