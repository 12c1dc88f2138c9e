# Paper Table 6, contrastive loss weight alpha = 0.5, on the embedded mini
# benchmark (configs/sler_ir_mini_5task.py has 1).
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(contrastive_loss=dict(loss_weight=0.5))
