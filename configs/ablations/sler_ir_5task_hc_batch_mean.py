# The contrastive loss read literally: Eq. 9 as one hinge on the batch-wide
# mean similarities (the main config applies it to every pair of classes
# in the batch, so that merging two classes is never free).
_base_ = ['../sler_ir_5task.py']

model = dict(contrastive_loss=dict(mode='batch_mean'))
