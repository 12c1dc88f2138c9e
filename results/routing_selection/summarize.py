"""Table of the stage-1-only runs used to choose the mini router settings.

Each run trained configs/sler_ir_mini_5task.py for its 6 stage-1 epochs only
(the routes are frozen after them), with one change, 1 torch thread:

    python tools/train.py configs/sler_ir_mini_5task.py --work-dir DIR \\
        --cfg-options train_cfg.max_epochs=6 train_cfg.val_interval=1000 \\
        OPTIONS

and RouteDiagnosticsHook wrote DIR/<time>/route_diagnostics.jsonl (copied
here as <run>.jsonl). The statistics are on the training probe (16 training
patches per task), never on the test sets. Run from the repository root:
    python results/routing_selection/summarize.py
"""
import glob
import json
import os.path as osp

# The options of each run, on top of the config at the time (shared
# centers; per-layer centers became the mini default after this table).
RUNS = {
    'shared_s0': 'shared centers, balanced per layer (seed 0)',
    'shared_s1': 'shared centers, balanced per layer (seed 1): '
                 'randomness.seed=1',
    'perlayer': 'per-layer centers: model.router.per_layer_centers=True',
    'perlayer_s1': 'per-layer centers, seed 1',
    'pooled': 'shared centers, balanced over all layers pooled: '
              'model.router.balance=pooled',
    'bal05': 'shared, balance relaxed: model.router.balance_strength=0.5',
    'bal0': 'shared, no balance (soft k-means): '
            'model.router.balance_strength=0.0',
    'margin1': 'shared, contrastive margin 1.0: '
               'model.contrastive_loss.margin=1.0',
}

here = osp.dirname(osp.abspath(__file__))
print('| run | task paths | NMI | purity per task (noise, rain, haze, '
      'blur, low light) | mean purity | min per-layer balance |')
print('|---|---|---|---|---|---|')
for name, what in RUNS.items():
    path = osp.join(here, f'{name}.jsonl')
    if not glob.glob(path):
        continue
    with open(path) as f:
        last = json.loads(f.readlines()[-1])
    purity = [t['purity'] for t in last['tasks'].values()]
    print(f'| {what} | {last["task_paths"]} of {len(purity)} | '
          f'{last["nmi"]:.3f} | '
          + ' / '.join(f'{p:.2f}' for p in purity)
          + f' | {sum(purity) / len(purity):.3f} | '
          f'{last["min_layer_balance"]:.2f} |')
