"""tools/analysis_tools/harm_diagnosis.py: own, oracle, soft and snapped
routes per image (smoke model, untrained), on the validation split made
from the mini benchmark's training photos."""
import json
import os.path as osp

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from tool_runner import load_tool

TOOL = osp.join('tools', 'analysis_tools', 'harm_diagnosis.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def test_policy_arithmetic(tool):
    rows = [
        dict(input=20., own=18., oracle=22., soft=21., snap=None,
             on_path=False, confidence=0.5),
        dict(input=20., own=25., oracle=25., soft=24., snap=None,
             on_path=True, confidence=0.99),
    ]
    s = tool.summarize(rows)
    assert s['own_harm'] == 0.5 and s['oracle_harm'] == 0.0
    assert s['harm_on_path'] == 0.0 and s['harm_off_path'] == 1.0
    assert 'snap_psnr' not in s  # no prototypes, no snapped route
    # Soft below the confidence threshold only: 0.6 takes the first image.
    assert s['soft_when_unsure']['0.6'] == dict(psnr=23.0, harm=0.0,
                                                soft_share=0.5)
    assert s['soft_when_unsure']['0']['psnr'] == s['own_psnr']
    assert s['soft_when_unsure']['1.01']['psnr'] == s['soft_psnr']


def test_validation_split_of_the_smoke_model(tool, repo_root, tmp_path):
    cfg = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    ckpt = str(tmp_path / 'init.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    routes = tmp_path / 'route_stats.json'
    routes.write_text(json.dumps(dict(splits=dict(train=dict(tasks=dict(
        denoise=dict(main_path=[0] * 8), derain=dict(main_path=[1] * 8)))))))
    out = str(tmp_path / 'val.json')
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = tool.main([cfg, ckpt, '--routes', str(routes), '--split',
                            'val', '--photos', 'coins', '--out', out])
    finally:
        torch.set_num_threads(threads)
    with open(out) as f:
        assert json.load(f) == json.loads(json.dumps(result))
    sets = result['sets']
    assert len(sets) == 10 and sets['Noise-s25']['images'] == 6
    noise = sets['Noise-s25']
    # The oracle is the best known path, so never below the own route when
    # the own route is that path.
    assert noise['oracle_psnr'] >= noise['own_psnr'] - 1e-6 or \
        noise['on_path_share'] < 1
    assert 'oracle_psnr' not in sets['Haze']  # no training path for haze
    assert 'oracle_psnr' in sets['Rain+Haze']  # rain's path
    with pytest.raises(SystemExit, match='no training split'):
        routes.write_text(json.dumps(dict(splits=dict(test={}))))
        tool.main([cfg, ckpt, '--routes', str(routes), '--split', 'val',
                   '--photos', 'coins'])
