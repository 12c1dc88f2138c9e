# Paper Table 3, "L1 / Classifier", on the embedded mini benchmark: a
# degradation classifier picks each layer's expert (ClassifierRouter) instead
# of the spherical router; L1 only, the route is learnt through stage 1's soft
# mixture. Same budget as configs/sler_ir_mini_5task.py.
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(
    router=dict(_delete_=True, type='ClassifierRouter', num_classes=5),
    contrastive_loss=None)
