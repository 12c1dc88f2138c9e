# Paper Table 3, "L1 + L_cls / Classifier", on the embedded mini benchmark:
# the classifier router trained with L1 plus a cross-entropy loss on the
# degradation labels. Same budget as configs/sler_ir_mini_5task.py.
_base_ = ['./sler_ir_mini_5task_classifier_l1.py']

model = dict(
    classification_loss=dict(
        type='DegradationClassificationLoss', loss_weight=1.0))
