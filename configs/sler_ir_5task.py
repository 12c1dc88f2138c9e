# SLER-IR on the 5-task all-in-one protocol (the paper's Table 2): noise
# (CBSD68, sigma 25), rain (Rain100L), haze (SOTS-outdoor), blur (GoPro) and
# low light (LOL v1), with the paper's two-stage recipe in one command:
#   python tools/train.py configs/sler_ir_5task.py
#   python tools/test.py configs/sler_ir_5task.py work_dirs/sler_ir_5task/epoch_95.pth
# Data under data/ in AdaIR's layout (docs/data.md, "Real datasets"); DA-CLIP
# weights at checkpoints/daclip_ViT-B-32.pt.
_base_ = [
    './_base_/models/sler_ir.py',
    './_base_/datasets/allinone_5task.py',
    './_base_/schedules/sler_ir_two_stage.py',
]
