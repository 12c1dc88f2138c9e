# Paper Table 5: C = 2 experts per layer (the main config has 3).
_base_ = ['../sler_ir_5task.py']

model = dict(generator=dict(num_experts=2))
