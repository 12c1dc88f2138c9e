"""tools/analysis_tools/encoder_photo_holdout.py: recipe variants of the
degradation tower pretrained with training photos held out and scored on
them (a tiny tower, a few iterations)."""
import glob
import json
import os.path as osp

import pytest
from tiny_models import tiny_encoder_recipe
from tool_runner import load_tool

from sler_ir_mm.models.encoders.encoder_recipe import read_encoder_meta

TOOL = osp.join('tools', 'analysis_tools', 'encoder_photo_holdout.py')
RECIPE = tiny_encoder_recipe(name='tiny_holdout', iters=3, warmup_iters=1,
                             save_interval=100)
CONFIG = """
_base_ = [{smoke!r}]
model = dict(degradation_encoder=dict(
    _delete_=True, type='PretrainedDegradationEncoder', recipe={recipe!r}))
"""


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


@pytest.fixture
def config(repo_root, tmp_path):
    path = tmp_path / 'holdout_cfg.py'
    path.write_text(CONFIG.format(
        smoke=osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py'),
        recipe=RECIPE))
    return str(path)


def test_variants_are_trained_without_the_held_out_photos(tool, config,
                                                          tmp_path):
    out = tmp_path / 'res' / 'holdout.json'
    args = [config, '--work-dir', str(tmp_path / 'towers'), '--folds',
            'coins', 'moon', '--variant', 'base', '--variant', 'leaves',
            'data.dead_leaves=2', 'iters=2', '--out', str(out)]
    report = tool.main(args)
    assert list(report['variants']) == ['base', 'leaves']
    leaves = report['variants']['leaves']
    assert leaves['overrides'] == {'data.dead_leaves': 2, 'iters': 2}
    assert [f['held_out'] for f in leaves['folds']] == [['coins'], ['moon']]
    # Ten sets (singles and mixes), a share of images each.
    assert len(leaves['mean']) == 10
    assert all(0 <= v <= 1 for v in leaves['mean'].values())
    towers = sorted(glob.glob(str(tmp_path / 'towers' / 'leaves' /
                                  '*_fold0-*.pth')))
    assert len(towers) == 1
    meta = read_encoder_meta(towers[0])
    data = meta['recipe']['data']
    assert 'coins' not in data['photos'] and 'moon' in data['photos']
    assert data['dead_leaves'] == 2 and meta['recipe']['iters'] == 2
    assert json.loads(out.read_text())['folds'] == [['coins'], ['moon']]
    assert '| leaves |' in (tmp_path / 'res' / 'holdout.md').read_text()
    # A rerun reuses the towers: the same scores.
    again = tool.main(args[:-2])
    assert again['variants'] == report['variants']


@pytest.mark.parametrize('argv, match', [
    (['--folds', 'chelsea'], 'not training photos'),
    (['--variant', 'a', '--variant', 'a'], 'must differ'),
    (['--variant', 'a', 'iters'], 'KEY=VALUE'),
    (['--variant', 'iters=3'], 'name'),
])
def test_bad_arguments(tool, config, capsys, argv, match):
    with pytest.raises(SystemExit):
        tool.parse_args([config] + argv)
    assert match in capsys.readouterr().err


def test_a_changed_variant_gets_a_tower_of_its_own(tool, config, tmp_path):
    towers = tmp_path / 'towers'
    tool.main([config, '--work-dir', str(towers), '--folds', 'coins',
               '--variant', 'base'])
    first = sorted(glob.glob(str(towers / 'base' / '*.pth')))
    tool.main([config, '--work-dir', str(towers), '--folds', 'coins',
               '--variant', 'base', 'iters=2'])
    both = sorted(glob.glob(str(towers / 'base' / '*.pth')))
    # Cached by recipe key: the earlier tower is kept, never overwritten.
    assert len(first) == 1 and len(both) == 2 and first[0] in both
