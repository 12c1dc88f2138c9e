"""Routes on photos and degradation mixes that are not in the mini benchmark.

The mini benchmark's test photos are two (chelsea, rocket). This routes
128 x 128 crops of four other scikit-image images (clock, cell, page,
colorwheel; none used for training or testing) with each single degradation
(the benchmark's generators; noise sigma 25) and with four mixes, and
reports per degradation its main path, its purity, and how often an image
takes the main path its degradation takes on the mini test set
(route_stats.json of the same checkpoint). For a mix it says how many of
the 8 layers follow each component's main path: a hybrid path takes layers
from both (paper Sec. 3.1: composite degradations activate hybrid expert
combinations).

Run from the repository root, after route_stats.py wrote ROUTES:
    python results/generalization/route_generalization.py CONFIG CKPT \\
        ROUTES/route_stats.json OUT.json
"""
import json
import sys

import cv2
import numpy as np
import torch

import sler_ir_mm  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from sler_ir_mm.datasets.mini_benchmark import load_photo
from sler_ir_mm.datasets.synthetic_degradations import DEGRADATIONS
from sler_ir_mm.evaluation.route_stats import format_path, path_histogram

PHOTOS = ('clock', 'cell', 'page', 'colorwheel')
SIZE, SHORT, PER_PHOTO = 128, 256, 3
TASKS = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')
MIXES = (('dehaze', 'denoise'), ('deblur', 'denoise'),
         ('lowlight', 'denoise'), ('derain', 'lowlight'))


def crops():
    rng = np.random.default_rng(2026)
    out = []
    for name in PHOTOS:
        img = load_photo(name)
        h, w = img.shape[:2]
        s = SHORT / min(h, w)
        img = cv2.resize(img, (max(SHORT, round(w * s)),
                               max(SHORT, round(h * s))),
                         interpolation=cv2.INTER_AREA)
        for _ in range(PER_PHOTO):
            top = int(rng.integers(0, img.shape[0] - SIZE + 1))
            left = int(rng.integers(0, img.shape[1] - SIZE + 1))
            out.append(img[top:top + SIZE, left:left + SIZE].astype(
                np.float32) / 255)
    return out


def degrade(img, tasks, rng):
    for task in tasks:
        if task == 'denoise':
            img = np.clip(img + rng.normal(0, 25 / 255, img.shape), 0, 1)
        else:
            img, _ = DEGRADATIONS[task](img.astype(np.float32), rng)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.float32) / 255


def main(config, ckpt, routes_json, out):
    init_default_scope('mmagic')
    from mmagic.registry import MODELS
    model = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(model, ckpt, map_location='cpu', strict=True)
    model.eval()
    with open(routes_json) as f:
        test_paths = {t: tuple(v['main_path']) for t, v in json.load(f)
                      ['splits']['test']['tasks'].items()}
    clean = crops()
    report = {}
    for combo in [(t, ) for t in TASKS] + list(MIXES):
        rng = np.random.default_rng([7, len(report)])
        x = torch.from_numpy(np.stack(
            [degrade(c, combo, rng) for c in clean])).permute(0, 3, 1, 2)
        with torch.no_grad():
            routes = model.route(x.float()).indices.numpy()
        hist = path_histogram(routes)
        main_path = hist[0][0]
        entry = dict(images=len(routes), main_path=format_path(main_path),
                     purity=hist[0][1] / len(routes),
                     num_paths=len(hist))
        if len(combo) == 1:
            ref = test_paths.get(combo[0])
            entry['same_as_test_set'] = (None if ref is None else float(
                np.mean([tuple(r) == ref for r in routes.tolist()])))
        else:
            for task in combo:
                ref = np.array(test_paths[task])
                entry[f'layers_like_{task}'] = int(
                    (np.array(main_path) == ref).sum())
            entry['new_path'] = main_path not in test_paths.values()
        report['+'.join(combo)] = entry
    with open(out, 'w') as f:
        json.dump(dict(config=config, checkpoint=ckpt, photos=PHOTOS,
                       test_paths={k: format_path(v)
                                   for k, v in test_paths.items()},
                       degradations=report), f, indent=2)
    for name, e in report.items():
        print(name, e)


if __name__ == '__main__':
    main(*sys.argv[1:5])
