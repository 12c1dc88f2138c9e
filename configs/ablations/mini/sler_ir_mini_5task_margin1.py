# A remedy tried for wrong routes (issue 22; docs/mini_study.md): the L_HC
# margin lambda (Eq. 9; the paper gives no value, the configs use 0.5) at
# 1.0. With 0.5 the hinge was 0 in 39-50 % of the logged stage-1 batches
# (the frozen encoder separates the tasks enough almost from the start), so
# L_HC hardly shapes the routing vectors, and the router sends correctly
# recognised images off their task's path (0.55 of the blurred ones). A
# larger margin keeps pulling the tasks' routing vectors apart.
#   python tools/train.py configs/ablations/mini/sler_ir_mini_5task_margin1.py
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(contrastive_loss=dict(margin=1.0))
