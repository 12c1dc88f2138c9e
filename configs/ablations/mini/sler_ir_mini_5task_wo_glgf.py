# Paper Table 4, "w/o GLGF", on the embedded mini benchmark: no
# restoration prior; the degradation encoder only feeds the router. Same
# budget as configs/sler_ir_mini_5task.py (see tools/analysis_tools/run_study.py).
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(with_glgf=False)
