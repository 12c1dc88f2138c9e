"""Tables of route_generalization.py's results (every *.json here).

    python results/generalization/summarize.py
"""
import glob
import json
import os.path as osp

SINGLES = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')
here = osp.dirname(osp.abspath(__file__))
rows = {}
for path in sorted(glob.glob(osp.join(here, '*.json'))):
    with open(path) as f:
        rows[osp.splitext(osp.basename(path))[0]] = json.load(f)[
            'degradations']
print('Single degradations on the new photos: purity / share of images on '
      'the main path of the same degradation on the mini test set')
print()
print('| model, seed | ' + ' | '.join(SINGLES) + ' |')
print('|---|' + '---|' * len(SINGLES))
for name, d in rows.items():
    print(f'| {name} | ' + ' | '.join(
        f'{d[t]["purity"]:.2f} / {d[t]["same_as_test_set"]:.2f}'
        for t in SINGLES) + ' |')
mixes = [k for k in next(iter(rows.values())) if '+' in k]
print()
print('Mixes: layers (of 8) of the main path equal to each component\'s '
      'test-set main path')
print()
print('| model, seed | ' + ' | '.join(mixes) + ' |')
print('|---|' + '---|' * len(mixes))
for name, d in rows.items():
    cells = []
    for mix in mixes:
        a, b = mix.split('+')
        cells.append(f'{a} {d[mix]["layers_like_" + a]} / '
                     f'{b} {d[mix]["layers_like_" + b]}')
    print(f'| {name} | ' + ' | '.join(cells) + ' |')
