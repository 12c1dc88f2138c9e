"""Choose the mini degradation encoder's recipe on training photos held out
of its pretraining (never the mini test photos).

Run from the repository root, one line per candidate:
    python results/encoder_selection/select_recipe.py NAME WIDTH LAYERS ITERS
e.g. A_w32_l2_1500 32 2 1500; appends a line to
results/encoder_selection/heldout_photos.jsonl.
"""
import copy, json, sys, time, torch
import sler_ir_mm
from mmengine.config import Config
from mmengine.registry import init_default_scope
init_default_scope('mmagic')
from mmagic.registry import DATASETS
from sler_ir_mm.engine.degradation_pretraining import pretrain_degradation_encoder, _accuracy, _build
from sler_ir_mm.datasets.mini_benchmark import TRAIN_PHOTOS
torch.set_num_threads(1)
HELD = ('astronaut', 'coffee')
name, width, layers, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cfg = Config.fromfile('configs/sler_ir_mini_5task.py')
recipe = cfg.model.degradation_encoder.recipe.to_dict()
recipe['encoder']['vision_cfg'].update(width=width, layers=layers)
recipe['iters'] = iters; recipe['val_samples'] = 500; recipe['name'] = name
recipe['data']['photos'] = [p for p in TRAIN_PHOTOS if p not in HELD]
t = time.time()
out = f'work_dirs/encoder_selection/{name}.pth'
import os
os.makedirs(os.path.dirname(out), exist_ok=True)
if os.path.exists(out): os.remove(out)
meta = pretrain_degradation_encoder(recipe, out, progress=False)
# accuracy on the held-out photos
obj = torch.load(out, weights_only=True)
clf, _, _ = _build(recipe)
clf.encoder.visual.load_state_dict({k[7:]: v for k, v in obj['state_dict'].items()})
clf.prototypes.data.copy_(obj['prototypes']); clf.logit_scale.data.copy_(obj['logit_scale'])
held = DATASETS.build(dict(recipe['data'], photos=list(HELD), seed=777, num_samples=1000))
acc = _accuracy(clf, held, 1000, 100)
res = dict(name=name, width=width, layers=layers, iters=iters, seconds=round(time.time()-t), heldout_draws=meta['heldout_accuracy'], heldout_photos=acc)
print(json.dumps(res))
open('results/encoder_selection/heldout_photos.jsonl', 'a').write(json.dumps(res) + '\n')
