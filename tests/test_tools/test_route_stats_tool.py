"""tools/analysis_tools/route_stats.py on the smoke model (untrained)."""
import json
import os
import os.path as osp
from collections import Counter

import numpy as np
import pytest
import torch
from make_smoke_pairs import make_smoke_pairs
from mmagic.registry import MODELS
from mmengine.config import Config
from tool_runner import load_tool

from sler_ir_mm.utils.checkpoint_io import load_checkpoint_file

SLER_CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
RESTORMER_CFG = osp.join('configs', 'smoke', 'restormer_smoke.py')
TOOL = osp.join('tools', 'analysis_tools', 'route_stats.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


@pytest.fixture
def smoke_cwd(tmp_path, monkeypatch):
    """The smoke configs read data/smoke_pairs relative to the cwd."""
    monkeypatch.chdir(tmp_path)
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=2,
                     num_val=3, size=40)
    return tmp_path


def save_checkpoint(cfg_file, path):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg_file).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_route_stats_on_smoke_sets(tool, repo_root, smoke_cwd, capsys):
    cfg = osp.join(repo_root, SLER_CFG)
    ckpt = save_checkpoint(cfg, str(smoke_cwd / 'init.pth'))
    out_dir = smoke_cwd / 'stats'
    stats = tool.main([cfg, ckpt, '--out-dir', str(out_dir), '--device',
                       'cpu'])
    printed = capsys.readouterr().out
    for name in ('route_stats.json', 'route_stats.md', 'route_stats.png'):
        assert osp.isfile(out_dir / name)
    with open(out_dir / 'route_stats.json') as f:
        saved = json.load(f)
    assert saved['sets'].keys() == stats['sets'].keys() == {'noise', 'dark'}
    assert saved['num_layers'] == 8 and saved['num_experts'] == 3
    for s in saved['sets'].values():
        assert s['num_images'] == 3 == len(s['images'])
        assert 0 < s['purity'] <= 1
        assert sum(p['count'] for p in s['top_paths']) <= 3
        assert s['top_paths'][0]['count'] == round(s['purity'] * 3)
        assert all(len(im['route']) == 8 for im in s['images'])
        for layer in s['expert_usage']:
            assert sum(layer) == pytest.approx(1.0)
    angles = saved['center_angles']
    assert not angles['per_layer']
    assert 0 < angles['min'] <= angles['mean'] <= 180
    with open(out_dir / 'route_stats.md') as f:
        table = f.read()
    assert '| noise | 3 |' in table and '| dark | 3 |' in table
    assert 'Expert center angles (degrees)' in table
    assert '| noise | 3 |' in printed
    # Train next to test: per task the main path of each split.
    assert set(saved['splits']) == {'test', 'train'}
    test, train = saved['splits']['test'], saved['splits']['train']
    assert list(test['tasks']) == list(train['tasks']) == ['noise', 'dark']
    assert train['num_images'] == 2 * 24 and test['num_images'] == 6
    assert len(test['layer_balance']) == 8
    assert test['cosine']['tasks'] == ['noise', 'dark']
    for task in ('noise', 'dark'):
        # The per-set table and the per-task one agree.
        assert test['tasks'][task]['main_path'] == \
            saved['sets'][task]['top_paths'][0]['path']
    assert '| task | test: main path (purity, paths) | train: main path ' \
        '(purity, paths) | same path |' in table
    assert osp.isfile(out_dir / 'route_cosine.png')
    # Every image's route and every count are those of the routes
    # model.route gives, computed here image by image from the same
    # checkpoint.
    direct = direct_routes(cfg, ckpt)
    assert direct.keys() == saved['sets'].keys()
    for name, routes in direct.items():
        s = saved['sets'][name]
        assert {im['img_path']: im['route'] for im in s['images']} == routes
        counts = Counter(tuple(route) for route in routes.values())
        hist = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        assert [(tuple(p['path']), p['count'], p['share'])
                for p in s['top_paths']] == [(path, count, count / 3)
                                             for path, count in hist]
        assert s['num_paths'] == len(counts)
        assert s['purity'] == hist[0][1] / 3
        usage = np.zeros((8, 3))
        for route in routes.values():
            usage[np.arange(8), route] += 1 / 3
        np.testing.assert_allclose(s['expert_usage'], usage)
        assert test['tasks'][name]['main_path'] == list(hist[0][0])
    # The comparison can tell sets and paths apart: the untrained model
    # routes the two sets differently, and a set's images along two paths.
    mains = {tuple(s['top_paths'][0]['path'])
             for s in saved['sets'].values()}
    assert len(mains) == 2
    assert max(s['num_paths'] for s in saved['sets'].values()) > 1


def direct_routes(cfg, ckpt):
    """Per test set (task name), img_path -> model.route of the image."""
    from mmagic.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    model = MODELS.build(Config.fromfile(cfg).model)
    model.load_state_dict(load_checkpoint_file(ckpt)['state_dict'])
    model.eval()
    sets = {}
    for loader in Config.fromfile(cfg).test_dataloader:
        dataset = DATASETS.build(loader.dataset)
        routes = sets.setdefault(dataset.metainfo['task_name'], {})
        for i in range(len(dataset)):
            data = model.data_preprocessor(pseudo_collate([dataset[i]]))
            with torch.no_grad():
                route = model.route(data['inputs']).indices[0].tolist()
            routes[data['data_samples'].img_path[0]] = route
    return sets


def test_route_stats_train_split_only(tool, repo_root, smoke_cwd):
    cfg = osp.join(repo_root, SLER_CFG)
    ckpt = save_checkpoint(cfg, str(smoke_cwd / 'init.pth'))
    stats = tool.main([cfg, ckpt, '--out-dir', str(smoke_cwd / 'tr'),
                       '--splits', 'train', '--train-per-task', '5'])
    assert stats['sets'] == {} and list(stats['splits']) == ['train']
    assert stats['splits']['train']['num_images'] == 10


def test_model_without_router_is_an_error(tool, repo_root, smoke_cwd):
    cfg = osp.join(repo_root, RESTORMER_CFG)
    ckpt = save_checkpoint(cfg, str(smoke_cwd / 'restormer.pth'))
    with pytest.raises(SystemExit, match='BaseEditModel, has no router'):
        tool.main([cfg, ckpt, '--device', 'cpu'])
    with pytest.raises(SystemExit, match='checkpoint not found'):
        tool.main([cfg, 'missing.pth'])


MIX_CFG = '''_base_ = [{base!r}]
{router}

def _set(task, folder):
    return dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='BasicImageDataset',
            metainfo=dict(dataset_type='smoke', task_name=task),
            data_root='data/smoke_pairs',
            data_prefix=dict(img=folder + '/val/input',
                             gt=folder + '/val/target'),
            pipeline=[
                dict(type='LoadImageFromFile', key='img',
                     channel_order='rgb'),
                dict(type='LoadImageFromFile', key='gt',
                     channel_order='rgb'),
                dict(type='PackInputs')
            ]))


_sets = [('noise', 'noise'), ('dark', 'dark'), ('noise+dark', 'mix'),
         ('noise+rain', 'mix')]
test_dataloader = [_set(task, folder) for task, folder in _sets]
test_evaluator = [[dict(type='PSNR', prefix=task)] for task, _ in _sets]
'''
CLASSIFIER = ("model = dict(router=dict(_delete_=True, "
              "type='ClassifierRouter', num_classes=3), "
              "contrastive_loss=None)")


@pytest.mark.parametrize('router', ['spherical', 'classifier'])
def test_route_stats_composite_sets(tool, repo_root, smoke_cwd, router):
    """A composite set ('noise+dark') beside its components' sets, and one
    whose component ('rain') has no set of its own."""
    from sler_ir_mm.evaluation.composite_routes import composite_route_stats
    make_smoke_pairs(str(smoke_cwd / 'mixed'), degradations=('noise',),
                     num_train=0, num_val=3, size=40, seed=1)
    os.rename(smoke_cwd / 'mixed' / 'noise',
              smoke_cwd / 'data' / 'smoke_pairs' / 'mix')
    cfg = smoke_cwd / 'mix_cfg.py'
    cfg.write_text(MIX_CFG.format(
        base=osp.join(repo_root, SLER_CFG),
        router=CLASSIFIER if router == 'classifier' else ''))
    ckpt = save_checkpoint(str(cfg), str(smoke_cwd / 'init.pth'))
    out_dir = smoke_cwd / 'stats'
    stats = tool.main([str(cfg), ckpt, '--out-dir', str(out_dir),
                       '--device', 'cpu', '--splits', 'test'])
    with open(out_dir / 'route_stats.json') as f:
        saved = json.load(f)
    # A classifier router has no centers; its routes are indices all the
    # same.
    assert (saved['center_angles'] is None) == (router == 'classifier')
    comp = saved['composites']
    assert comp == json.loads(json.dumps(stats['composites']))
    assert list(comp['mixes']) == ['noise+dark']
    mix = comp['mixes']['noise+dark']
    assert mix['components'] == ['noise', 'dark'] and mix['num_images'] == 3
    assert len(mix['exclusive_layers']) == 3
    assert comp['skipped']['noise+rain']['missing'] == ['rain']
    # The same numbers from the saved per-image routes.
    routes, tasks = [], []
    for name, s in saved['sets'].items():
        routes += [im['route'] for im in s['images']]
        tasks += [name] * len(s['images'])
    expected = composite_route_stats(np.array(routes), tasks, 3)
    assert json.loads(json.dumps(expected)) == comp
    assert osp.isfile(out_dir / 'route_composite_noise+dark.png')
    with open(out_dir / 'route_stats.md') as f:
        table = f.read()
    assert 'Composite degradations: hybrid paths.' in table
    assert 'Per-layer follow shares of noise+dark (% of its 3 images)' \
        in table
    assert '- noise+rain: skipped, no single-task images of rain' in table
    assert ('| noise+dark | ' + str(mix['differing_layers'])) in table
