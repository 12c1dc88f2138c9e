# Paper Table 6: hyperspherical contrastive loss weight alpha = 0.5 (the main
# config has 1).
_base_ = ['../sler_ir_5task.py']

model = dict(contrastive_loss=dict(loss_weight=0.5))
