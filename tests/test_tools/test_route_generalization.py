"""tools/analysis_tools/route_generalization.py: routes of photos and mixes
outside the mini benchmark (smoke model, untrained), and the tables of the
recorded results that docs/mini_study.md shows."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from tool_runner import load_tool

TOOL = osp.join('tools', 'analysis_tools', 'route_generalization.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def test_the_recorded_tables_are_the_docs(tool, repo_root):
    files = sorted(
        glob.glob(osp.join(repo_root, 'results', 'generalization', '*.json')))
    assert len(files) == 5
    text = tool.main(['--summarize', *files])['text']
    with open(osp.join(repo_root, 'docs', 'mini_study.md')) as f:
        assert text in f.read()


def test_routes_of_photos_and_a_mix(tool, repo_root, tmp_path):
    cfg = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    ckpt = str(tmp_path / 'init.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    routes = tmp_path / 'route_stats.json'
    paths = dict(denoise=[0] * 8, lowlight=[1, 1, 1, 1, 2, 2, 2, 2])
    routes.write_text(
        json.dumps(
            dict(
                splits=dict(
                    test=dict(tasks={
                        t: dict(main_path=p)
                        for t, p in paths.items()
                    })))))
    out = str(tmp_path / 'out' / 'gen.json')
    result = tool.main([
        cfg, ckpt, '--routes',
        str(routes), '--out', out, '--photos', 'clock', '--per-photo', '2',
        '--tasks', 'denoise', 'deblur', '--mixes', 'lowlight+denoise',
        '--device', 'cpu'
    ])
    with open(out) as f:
        assert json.load(f) == json.loads(json.dumps(result))
    report = result['degradations']
    assert list(report) == ['denoise', 'deblur', 'lowlight+denoise']
    for entry in report.values():
        assert entry['images'] == 2 and 0 < entry['purity'] <= 1
        assert len(entry['main_path'].split('-')) == 8
    assert 0 <= report['denoise']['same_as_test_set'] <= 1
    # No test-set path of deblur in the routes file.
    assert report['deblur']['same_as_test_set'] is None
    mix = report['lowlight+denoise']
    assert 0 <= mix['layers_like_lowlight'] <= 8
    assert 0 <= mix['layers_like_denoise'] <= 8
    assert 0 <= mix['hybrid_share'] <= 1 and 'new_path' in mix
    assert result['test_paths']['lowlight'] == '1-1-1-1-2-2-2-2'


def test_degradations_are_seeded_and_quantised(tool):
    crop, = tool.photo_crops(['clock'], 1)
    assert crop.shape == (128, 128, 3) and crop.dtype == np.float32
    a = tool.degrade(crop, ['lowlight', 'denoise'], np.random.default_rng(1))
    b = tool.degrade(crop, ['lowlight', 'denoise'], np.random.default_rng(1))
    assert np.array_equal(a, b)
    assert np.allclose(a * 255, np.round(a * 255), atol=1e-3)
    assert a.mean() < crop.mean()  # darkened


@pytest.mark.parametrize('argv, message', [
    (['c.py', 'k.pth', '--out', 'o.json'], '--routes'),
    (['c.py', 'k.pth', '--routes', 'r', '--out', 'o', '--mixes', 'derain'
      ], 'two or more'),
    (['c.py', 'k.pth', '--routes', 'r', '--out', 'o', '--mixes', 'x+y'
      ], 'two or more distinct'),
])
def test_bad_arguments(tool, argv, message, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(argv)
    assert message in capsys.readouterr().err
