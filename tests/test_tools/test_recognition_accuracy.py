"""tools/analysis_tools/recognition_accuracy.py: how often the top score
names the degradation and how often the unlike warning fires (smoke model
on a tiny pretrained tower, smoke test sets, photos outside the
benchmark)."""
import json
import os.path as osp

import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from tiny_models import tiny_encoder_recipe
from tool_runner import load_tool

from sler_ir_mm.apis import Recognition
from sler_ir_mm.engine.degradation_pretraining import \
    ensure_pretrained_encoder

TOOL = osp.join('tools', 'analysis_tools', 'recognition_accuracy.py')
RECIPE = tiny_encoder_recipe(name='tiny_recognition_tool', iters=4,
                             warmup_iters=1, save_interval=100)
CONFIG = """
_base_ = [{smoke!r}]
model = dict(degradation_encoder=dict(
    _delete_=True, type='PretrainedDegradationEncoder', recipe={recipe!r},
    cache_dir={cache!r}))
"""


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def rec(label, unlike, similarity=0.5):
    return Recognition(label, {}, similarity, 0.4, unlike, 'prototypes', [],
                       [])


def test_score(tool):
    row = tool.score([rec('derain', False), rec('dehaze', True, 0.3)],
                     ['derain', 'dehaze'])
    assert row['accuracy'] == 1.0 and row['unlike_rate'] == 0.5
    assert row['mean_similarity'] == pytest.approx(0.4)
    row = tool.score([rec('derain', False), rec('denoise', False)],
                     ['derain'])
    assert row['accuracy'] == 0.5
    assert row['recognised_as'] == dict(derain=1, denoise=1)
    assert tool.score([rec('derain', True)], [])['accuracy'] is None


def test_smoke_run(tool, repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=1,
                     num_val=2, size=24)
    cache = str(tmp_path / 'encoders')
    ensure_pretrained_encoder(RECIPE, cache, progress=False)
    smoke = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    config = tmp_path / 'rec.py'
    config.write_text(CONFIG.format(smoke=smoke, recipe=RECIPE, cache=cache))
    from mmengine.config import Config
    from mmagic.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    ckpt = str(tmp_path / 'init.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    routes = tmp_path / 'route_stats.json'
    routes.write_text(json.dumps(dict(splits=dict(train=dict(tasks=dict(
        noise=dict(main_path=[0] * 8)))))))
    try:
        result = tool.main([str(config), ckpt, '--per-photo', '1', '--out',
                            'rec.json', '--routes', str(routes)])
    finally:
        torch.set_num_threads(threads)
    with open(tmp_path / 'rec.json') as f:
        assert json.load(f) == json.loads(json.dumps(result))
    assert result['classes'] == ['denoise', 'derain', 'dehaze', 'deblur',
                                 'lowlight']
    # The smoke sets' tasks are not among the classes: counted, not scored.
    assert set(result['test_sets']) == {'noise', 'dark', 'clean'}
    assert result['test_sets']['noise']['accuracy'] is None
    # A set with a training path gets the route-given-recognition counts.
    route = result['test_sets']['noise']['route']
    assert route['path'] == '0-0-0-0-0-0-0-0'
    assert sum(route[k] for k in ('right_on', 'right_off', 'wrong_on',
                                  'wrong_off')) == \
        result['test_sets']['noise']['images']
    assert 'route' not in result['test_sets']['dark']
    outside = result['outside']
    assert list(outside)[:2] == ['clean', 'denoise']
    assert outside['denoise']['images'] == 3
    assert 0 <= outside['dehaze+denoise']['accuracy'] <= 1


def test_route_given_recognition(tool):
    def with_route(label, route):
        return rec(label, False)._replace(route=route)

    recs = [with_route('deblur', [0, 1]), with_route('deblur', [1, 1]),
            with_route('dehaze', [0, 1]), with_route('dehaze', [1, 0])]
    row = tool.route_given_recognition(recs, ['deblur'], [0, 1])
    assert (row['right_on'], row['right_off'], row['wrong_on'],
            row['wrong_off']) == (1, 1, 1, 1)
    assert row['on_path'] == 0.5 and row['path'] == '0-1'
    assert row['on_path_if_recognised'] == 0.5
    assert row['on_path_if_not'] == 0.5
    none = tool.route_given_recognition(recs[:2], ['deblur'], [0, 1])
    assert none['on_path_if_not'] is None


def test_routes_without_a_training_split(tool, tmp_path):
    routes = tmp_path / 'r.json'
    routes.write_text(json.dumps(dict(splits=dict(test={}))))
    cfg = tmp_path / 'c.py'
    cfg.write_text('')
    ckpt = tmp_path / 'c.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(SystemExit, match='no training split'):
        tool.main([str(cfg), str(ckpt), '--routes', str(routes)])
