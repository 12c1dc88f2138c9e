# Plain MMagic Restormer on CDD-11 with SLER-IR's schedule, the baseline of
# configs/sler_ir_cdd11.py (it uses no degradation labels).
#   python tools/train.py configs/restormer/restormer_cdd11.py
_base_ = [
    '../_base_/models/restormer.py',
    '../_base_/datasets/cdd11.py',
    '../_base_/schedules/restormer_two_stage.py',
]
