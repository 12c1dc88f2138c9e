# Paper Table 3, "L1 + L_cls / Classifier": the classifier router trained with
# L1 plus a cross-entropy loss on the degradation labels (TASK_LABELS).
_base_ = ['./sler_ir_5task_classifier_l1.py']

model = dict(
    classification_loss=dict(
        type='DegradationClassificationLoss', loss_weight=1.0))
