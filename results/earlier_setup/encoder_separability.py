"""How well the router's input separates the tasks: leave-one-out
nearest-class-mean accuracy of the degradation encoder's (normalised) CLS
features on the training probe (24 patches per task) and on the mini test
sets, and the test accuracy of the training probe's class means.

Run from the repository root:
    python results/earlier_setup/encoder_separability.py CONFIG CKPT|none
(none: the config's encoder as built, e.g. random or pretrained weights).
"""
import sys, json, torch, torch.nn.functional as F
import sler_ir_mm
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from mmengine.dataset import pseudo_collate
init_default_scope('mmagic')
from mmagic.registry import MODELS, DATASETS
from sler_ir_mm.datasets import probe_samples
torch.set_num_threads(1)
cfg_file, ckpt = sys.argv[1], sys.argv[2]
cfg = Config.fromfile(cfg_file)
model = MODELS.build(cfg.model)
if ckpt != 'none':
    load_checkpoint(model, ckpt, map_location='cpu', strict=True)
model.eval()
def feats(batches):
    out = []
    with torch.no_grad():
        for b in batches:
            x = model.data_preprocessor(b, False)['inputs']
            boxes = model.routing_tiles(x)
            enc = model.degradation_encoder
            from sler_ir_mm.models.restorers.sler_restorer import encoder_views
            v = enc.preprocess(encoder_views(x, enc.image_size, tile_boxes=boxes, whole=boxes is None))
            f = F.normalize(enc.forward_preprocessed(v).cls, dim=-1)
            t = len(boxes) if boxes else 1
            out.append(F.normalize(f.view(x.shape[0], t, -1).mean(1), dim=-1))
    return torch.cat(out)
def ncm_loo(f, y):
    y = torch.tensor(y); correct = 0
    for i in range(len(y)):
        m = torch.ones(len(y), dtype=bool); m[i] = False
        means = torch.stack([F.normalize(f[m & (y == c)].mean(0), dim=0) for c in y.unique()])
        correct += int(y.unique()[(means @ f[i]).argmax()] == y[i])
    return correct / len(y)
ds = DATASETS.build(cfg.train_dataloader.dataset)
samples, tasks = probe_samples(ds, 24, 0)
ft = feats([pseudo_collate(samples[i:i+16]) for i in range(0, len(samples), 16)])
names = sorted(set(tasks)); yt = [names.index(t) for t in tasks]
res = dict(train_probe=ncm_loo(ft, yt))
fs, ys = [], []
for loader in cfg.test_dataloader:
    dl = Runner.build_dataloader(loader)
    from sler_ir_mm.datasets import task_subsets
    task = next(iter(task_subsets(dl.dataset)))
    f = feats(list(dl)); fs.append(f); ys += [names.index(task)] * len(f)
res['test'] = ncm_loo(torch.cat(fs), ys)
# train class means applied to test
yt_t = torch.tensor(yt); means = torch.stack([F.normalize(ft[yt_t == c].mean(0), dim=0) for c in range(len(names))])
res['test_by_train_means'] = float(((torch.cat(fs) @ means.t()).argmax(-1) == torch.tensor(ys)).float().mean())
print(json.dumps(dict(config=cfg_file, ckpt=ckpt, tiles=cfg.model.get('route_tile_size'), **res)))
