"""Does GLGF's 4 x 4 crop grid show the degradation encoder the same
statistics in training and at test time? Classify each crop with the
pretrained tower and its prototypes: crops of 64 x 64 training patches are
16 x 16 pixels (upscaled 4x into the 64 x 64 view), crops of 128 x 128 test
images 32 x 32 (upscaled 2x).

Run from the repository root:
    python results/encoder_selection/crop_scale_check.py
"""
import json

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import sler_ir_mm  # noqa: F401
from sler_ir_mm.datasets import probe_samples, task_subsets
from sler_ir_mm.engine.degradation_pretraining import cached_encoder_path
from sler_ir_mm.models.restorers.sler_restorer import encoder_views

init_default_scope('mmagic')
from mmagic.registry import DATASETS, MODELS  # noqa: E402

cfg = Config.fromfile('configs/sler_ir_mini_5task.py')
enc_cfg = cfg.model.degradation_encoder
path = cached_encoder_path(enc_cfg.recipe, enc_cfg.get(
    'cache_dir', 'checkpoints/degradation_encoders'))
obj = torch.load(path, weights_only=True)
tower = MODELS.build(dict(enc_cfg.recipe.encoder, checkpoint=path,
                          random_init=False, frozen=True)).eval()
protos = F.normalize(obj['prototypes'], dim=-1)
classes = obj['meta']['classes']


def accuracy(images, task):
    """Share of whole views and of 4 x 4 crops classified as ``task``."""
    x = torch.stack(images)
    with torch.no_grad():
        views = encoder_views(x, tower.image_size, crop_grid=4)
        pred = (F.normalize(tower(views).cls, dim=-1) @ protos.t()).argmax(-1)
    b = x.shape[0]
    ok = (pred == classes.index(task)).float()
    return float(ok[:b].mean()), float(ok[b:].mean())


report = {}
ds = DATASETS.build(cfg.train_dataloader.dataset)
samples, tasks = probe_samples(ds, 24, 0)
for task in classes:
    imgs = [s['inputs'].float() / 255 for s, t in zip(samples, tasks)
            if t == task]
    report.setdefault(task, {})['train_patches'] = accuracy(imgs, task)
for loader in cfg.test_dataloader:
    dl = Runner.build_dataloader(loader)
    task = next(iter(task_subsets(dl.dataset)))
    imgs = [b['inputs'][0].float() / 255 for b in dl]
    report[task]['test_images'] = accuracy(imgs, task)
print('| task | train patch: whole / crops | test image: whole / crops |')
print('|---|---|---|')
for task, r in report.items():
    print(f'| {task} | {r["train_patches"][0]:.2f} / '
          f'{r["train_patches"][1]:.2f} | {r["test_images"][0]:.2f} / '
          f'{r["test_images"][1]:.2f} |')
with open('results/encoder_selection/crop_scale_check.json', 'w') as f:
    json.dump(report, f, indent=1)
