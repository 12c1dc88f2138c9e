# SLER-IR on CDD-11 (OneRestore's composite degradations): 11 degradation
# classes (low, haze, rain, snow and their 7 mixes, each mix a class of its
# own); model and two-stage recipe as configs/sler_ir_5task.py. The
# contrastive loss pulls the routes of each class together, whatever the
# number of classes, so no class count is set here.
#   python tools/misc/check_dataset.py configs/sler_ir_cdd11.py
#   python tools/train.py configs/sler_ir_cdd11.py
#   python tools/test.py configs/sler_ir_cdd11.py work_dirs/sler_ir_cdd11/epoch_95.pth
# Data under data/CDD-11_train and data/CDD-11_test (docs/data.md,
# "CDD-11"); DA-CLIP weights at checkpoints/daclip_ViT-B-32.pt.
_base_ = [
    './_base_/models/sler_ir.py',
    './_base_/datasets/cdd11.py',
    './_base_/schedules/sler_ir_two_stage.py',
]
