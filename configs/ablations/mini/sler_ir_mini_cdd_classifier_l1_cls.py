# Paper Table 3, "L1 + L_cls / Classifier", on the mini benchmark's
# singles + mixes protocol (configs/sler_ir_mini_cdd.py): the classifier
# router, one class per single degradation and per mix (10), trained with
# L1 plus a cross-entropy loss on those labels. Same budget as
# configs/sler_ir_mini_cdd.py.
_base_ = ['../../sler_ir_mini_cdd.py']

model = dict(
    router=dict(_delete_=True, type='ClassifierRouter', num_classes=10),
    contrastive_loss=None,
    classification_loss=dict(
        type='DegradationClassificationLoss', loss_weight=1.0))
