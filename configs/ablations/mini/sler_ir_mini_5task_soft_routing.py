# A remedy tried for wrong routes (docs/mini_study.md, "Remedies tried"): at
# test time, every routed layer mixes its experts by the router's
# probabilities instead of taking the most probable one. Inference only: it
# scores a checkpoint of configs/sler_ir_mini_5task.py, e.g.
#   python tools/test.py configs/ablations/mini/sler_ir_mini_5task_soft_routing.py \
#       work_dirs/sler_ir_mini_5task/epoch_22.pth
# (tools/analysis_tools/harm_diagnosis.py reports the same per image, with
# the "soft only when unsure" variants). Not kept: it lost 0.47 dB on the
# single-degradation test sets over 3 seeds and costs every expert's pass.
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(test_cfg=dict(routing='soft'))
