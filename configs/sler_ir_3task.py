# SLER-IR on the 3-task all-in-one protocol (the paper's Table 1): noise
# (CBSD68 at sigma 15, 25 and 50), rain (Rain100L) and haze (SOTS-outdoor),
# with the paper's two-stage recipe in one command:
#   python tools/train.py configs/sler_ir_3task.py
#   python tools/test.py configs/sler_ir_3task.py work_dirs/sler_ir_3task/epoch_95.pth
# Data under data/ in PromptIR's layout (docs/data.md, "Real datasets"); DA-CLIP
# weights at checkpoints/daclip_ViT-B-32.pt.
_base_ = [
    './_base_/models/sler_ir.py',
    './_base_/datasets/allinone_3task.py',
    './_base_/schedules/sler_ir_two_stage.py',
]
