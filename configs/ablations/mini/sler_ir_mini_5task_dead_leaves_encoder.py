# A remedy tried for wrong routes (issue 22; docs/mini_study.md, "An encoder
# that generalises"): the mini tower also pretrains on 11 synthetic
# dead-leaves scenes (sler_ir_mm/datasets/dead_leaves.py), drawn from as
# often as each of the 11 training photos, so that it would learn the
# degradations rather than the content of a few photos. Not kept: on
# training photos held out of its pretraining it named the degradations no
# better than the plain recipe (0.883 vs 0.879 of the single-degradation
# images, haze worse, blur better; results/encoder_holdout/summary.md, from
#   python tools/analysis_tools/encoder_photo_holdout.py configs/sler_ir_mini_5task.py \
#       --variant base --variant dead_leaves data.dead_leaves=11
# ), so no model was trained with it. To train one anyway:
#   python tools/train.py configs/ablations/mini/sler_ir_mini_5task_dead_leaves_encoder.py
# (the tower is pretrained first, about 5 minutes on an idle 2-core machine).
_base_ = ['../../sler_ir_mini_5task.py']

model = dict(
    degradation_encoder=dict(
        recipe=dict(
            name='mini_degradation_encoder_dead_leaves',
            data=dict(dead_leaves=11))))
