# Paper Table 5, C = 4 experts per layer, on the embedded mini benchmark
# (configs/sler_ir_mini_5task.py has 3).
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(generator=dict(num_experts=4))
