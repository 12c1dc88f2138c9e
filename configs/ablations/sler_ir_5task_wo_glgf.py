# Paper Table 4, "w/o GLGF": no restoration prior; the degradation encoder
# only feeds the router.
_base_ = ['../sler_ir_5task.py']

model = dict(with_glgf=False)
