# Plain MMagic Restormer on the 5-task data with SLER-IR's schedule, the
# baseline of configs/sler_ir_5task.py.
#   python tools/train.py configs/restormer/restormer_5task.py
_base_ = [
    '../_base_/models/restormer.py',
    '../_base_/datasets/allinone_5task.py',
    '../_base_/schedules/restormer_two_stage.py',
]
