"""tools/pretrain_degradation_encoder.py: a config's recipe (cached where
the config looks for it) and a user's all-in-one tree (--data-root)."""
import json
import os.path as osp

import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from mmagic.registry import MODELS
from mmengine.config import Config
from tool_runner import load_tool

TOOL = osp.join('tools', 'pretrain_degradation_encoder.py')
TOWER = dict(
    type='CLIPImageEncoder',
    vision_cfg=dict(image_size=32, layers=1, width=16, patch_size=8,
                    head_width=8),
    embed_dim=8,
    random_init=True)


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


@pytest.fixture
def config(repo_root, tmp_path, monkeypatch):
    """The smoke config routed on a pretrained tiny tower, run in tmp."""
    monkeypatch.chdir(tmp_path)
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=2,
                     num_val=2, size=32)
    recipe = dict(
        name='tiny', encoder=TOWER,
        data=dict(type='SyntheticDegradationDataset',
                  photos=['camera', 'coins'], crop_size=40, view_size=32),
        iters=4, batch_size=4, lr=1e-3, weight_decay=0.0, warmup_iters=1,
        seed=0, val_samples=8, save_interval=2)
    text = (f"_base_ = [{osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')!r}]\n"  # noqa: E501
            f"model = dict(degradation_encoder=dict(_delete_=True, "
            f"type='PretrainedDegradationEncoder', recipe={recipe!r}, "
            f"cache_dir='cache'))\n")
    path = tmp_path / 'tiny_pretrained.py'
    path.write_text(text)
    return str(path)


def test_recipe_of_a_config_is_built_where_the_config_reads_it(
        tool, config, tmp_path, capsys):
    report = tool.main([config, '--no-eval'])
    out = report['checkpoint']
    assert out.startswith(osp.join('cache', 'tiny-')) and osp.isfile(out)
    assert report['classes'][0] == 'denoise'
    # The config's model now loads that file, frozen: no second training.
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    saved = torch.load(out, weights_only=True)['state_dict']
    assert torch.equal(model.degradation_encoder.visual.conv1.weight,
                       saved['visual.conv1.weight'])
    assert not model.degradation_encoder.visual.conv1.weight.requires_grad
    # A second call finds it built.
    capsys.readouterr()
    tool.main([config, '--no-eval'])
    assert 'already built' in capsys.readouterr().out


def test_data_root_trains_on_the_training_tree(tool, config, tmp_path):
    out = str(tmp_path / 'mine.pth')
    report = tool.main([config, '--data-root', 'data/smoke_pairs', '--out',
                        out, '--iters', '3'])
    # The smoke tree's two tasks are the classes; the test sets are scored
    # on tiles and whole images.
    assert report['classes'] == ['noise', 'dark']
    assert set(report['test_sets']) == {'noise', 'dark'}
    for row in report['test_sets'].values():
        assert row['images'] == 2
        assert 0 <= row['accuracy_tiles'] <= 1
    with open(osp.splitext(out)[0] + '.eval.json') as f:
        assert json.load(f)['classes'] == ['noise', 'dark']


def test_refusals(tool, config, tmp_path, repo_root):
    foreign = tmp_path / 'foreign.pth'
    foreign.write_bytes(b'x')
    with pytest.raises(SystemExit, match='left alone'):
        tool.main([config, '--out', str(foreign), '--no-eval'])
    assert foreign.read_bytes() == b'x'
    smoke = osp.join(repo_root, 'configs', 'smoke', 'sler_ir_smoke.py')
    with pytest.raises(SystemExit, match='--data-root'):
        tool.main([smoke])
