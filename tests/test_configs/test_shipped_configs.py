"""Every shipped config parses and builds its model; the paper configs
carry the paper's recipe and protocols."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmagic.registry import DATASETS, MODELS

from sler_ir_mm.datasets import TASK_LABELS
from sler_ir_mm.datasets import set_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                       recursive=True) if '_base_' not in p)
PAPER_CONFIGS = [c for c in CONFIGS if osp.basename(c).startswith(
    ('sler_ir_5task', 'sler_ir_3task'))]

# A tiny DA-CLIP with random weights in place of the real checkpoint.
TINY_DACLIP = dict(
    type='DACLIPEncoder',
    vision_cfg=dict(
        image_size=32, layers=2, width=32, patch_size=8, head_width=16),
    embed_dim=32,
    random_init=True)
# A small backbone with the config's number of experts (the full one
# builds too, but takes seconds per config).
TINY_BACKBONE = dict(
    dim=8, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1,
    heads=(1, 1, 2, 2))


def load(config):
    return Config.fromfile(osp.join(REPO, config))


def test_all_configs_are_found():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'sler_ir_5task.py', 'sler_ir_3task.py', 'sler_ir_mini_5task.py',
            'restormer_5task.py', 'restormer_3task.py',
            'restormer_mini_5task.py', 'sler_ir_5task_wo_glgf.py',
            'sler_ir_5task_classifier_l1.py',
            'sler_ir_5task_classifier_l1_cls.py', 'sler_ir_5task_c2.py',
            'sler_ir_5task_c4.py', 'sler_ir_5task_alpha0p5.py',
            'sler_ir_5task_alpha2.py', 'sler_ir_cdd11.py',
            'restormer_cdd11.py', 'sler_ir_mini_cdd.py',
            'restormer_mini_cdd.py',
            'sler_ir_mini_cdd_classifier_l1_cls.py'} <= names


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_its_model(config):
    cfg = load(config)
    assert cfg.default_scope == 'mmagic'
    model_cfg = cfg.model
    if model_cfg.type == 'SLERRestorer':
        if model_cfg.degradation_encoder.get('checkpoint'):
            model_cfg.degradation_encoder = TINY_DACLIP
        elif model_cfg.degradation_encoder.type == \
                'PretrainedDegradationEncoder':
            # The recipe's tower, frozen, with random weights instead of
            # minutes of pretraining (tests/test_engine covers that).
            model_cfg.degradation_encoder = dict(
                model_cfg.degradation_encoder.recipe.encoder,
                random_init=True, frozen=True)
        if model_cfg.generator.dim == 48:
            model_cfg.generator.update(TINY_BACKBONE)
    elif model_cfg.generator.get('dim') == 48:
        model_cfg.generator.update(TINY_BACKBONE)
    model = MODELS.build(model_cfg)
    model.eval()
    with torch.no_grad():
        if model_cfg.type == 'SLERRestorer':
            # Predicts any size, without data samples.
            out = model(torch.rand(1, 3, 20, 28) * 255, mode='predict')
            assert out[0].output.pred_img.shape[-2:] == (20, 28)
        else:
            out = model(torch.rand(1, 3, 24, 32), mode='tensor')
            assert out.shape[-2:] == (24, 32)


def test_the_paper_recipe():
    cfg = load('configs/sler_ir_5task.py')
    assert cfg.optim_wrapper.optimizer == dict(
        type='Adam', lr=2e-4, betas=(0.9, 0.999))
    assert cfg.param_scheduler.type == 'CosineRestartLR'
    assert cfg.param_scheduler.periods == [15, 80]
    assert cfg.train_cfg.max_epochs == 95
    assert cfg.train_dataloader.batch_size == 10
    assert cfg.custom_hooks == [
        dict(type='RoutingStageSwitchHook', switch_epoch=15,
             train_batch_size=20),
        dict(type='RouteDiagnosticsHook', per_task=16),
    ]
    # Test images are routed on tiles of the training patch size.
    assert cfg.model.route_tile_size == 128
    assert cfg.model_wrapper_cfg.find_unused_parameters
    generator = cfg.model.generator
    assert (generator.dim, tuple(generator.num_blocks),
            generator.num_refinement_blocks, generator.num_experts) == (
                48, (4, 6, 6, 8), 4, 3)
    assert cfg.model.contrastive_loss.loss_weight == 1.0
    crops = [t for t in cfg.train_pipeline if t.type == 'PairedRandomCrop']
    assert crops[0].gt_patch_size == 128
    kinds = {(t.type, t.get('direction')) for t in cfg.train_pipeline}
    assert {('Flip', 'horizontal'), ('Flip', 'vertical'),
            ('RandomTransposeHW', None)} <= kinds
    for evaluators in cfg.test_evaluator:
        for metric in evaluators:
            # RGB, [0, 255], no border crop.
            assert metric.get('crop_border', 0) == 0
            assert metric.get('convert_to') is None


@pytest.mark.parametrize('config, sets, repeats', [
    ('configs/sler_ir_5task.py',
     ['CBSD68-s25', 'Rain100L', 'SOTS', 'GoPro', 'LOL'],
     [('denoise', 3)] * 3 + [('derain', 120), ('dehaze', 1), ('deblur', 5),
                             ('lowlight', 20)]),
    ('configs/sler_ir_3task.py',
     ['CBSD68-s15', 'CBSD68-s25', 'CBSD68-s50', 'Rain100L', 'SOTS'],
     [('denoise', 3)] * 3 + [('derain', 120), ('dehaze', 1)]),
])
def test_protocol_datasets(config, sets, repeats):
    cfg = load(config)
    assert [e[0].prefix for e in cfg.test_evaluator] == sets
    assert len(cfg.test_dataloader) == len(sets)
    got = []
    for ds in cfg.train_dataloader.dataset.datasets:
        times = ds.get('times', 1)
        inner = ds.get('dataset', ds)
        got.append((inner.task_name, times))
        assert inner.degradation_label == TASK_LABELS[inner.task_name]
    assert got == repeats
    sigmas = [ds.dataset.noise_sigma
              for ds in cfg.train_dataloader.dataset.datasets[:3]]
    assert sigmas == [15, 25, 50]


def write_png(path, size=128):
    import cv2
    import numpy as np
    rng = np.random.default_rng(len(str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), rng.integers(0, 256, (size, size, 3), np.uint8))


def make_adair_tree(root):
    """One image per folder of the AdaIR / PromptIR layout."""
    for rel in ['Train/Denoise/a.png', 'Train/Derain/rainy/rain-1.png',
                'Train/Derain/gt/norain-1.png',
                'Train/Dehaze/synthetic/part1/0001_0.8_0.1.jpg',
                'Train/Dehaze/original/0001.jpg',
                'Train/Deblur/blur/x.png', 'Train/Deblur/sharp/x.png',
                'Train/Enhance/low/1.png', 'Train/Enhance/gt/1.png',
                'test/denoise/bsd68/b.png',
                'test/derain/Rain100L/input/1.png',
                'test/derain/Rain100L/target/1.png',
                'test/dehaze/input/0002_0.9_0.2.jpg',
                'test/dehaze/target/0002.png',
                'test/deblur/gopro/input/y.png',
                'test/deblur/gopro/target/y.png',
                'test/enhance/lol/input/2.png',
                'test/enhance/lol/target/2.png']:
        write_png(root / rel)


@pytest.mark.parametrize('config', [
    'configs/sler_ir_5task.py', 'configs/sler_ir_3task.py',
    'configs/restormer/restormer_5task.py'
])
def test_protocol_datasets_read_the_layout(config, tmp_path):
    make_adair_tree(tmp_path)
    cfg = load(config)
    set_data_root(cfg, str(tmp_path))
    for ds_cfg in cfg.train_dataloader.dataset.datasets:
        dataset = DATASETS.build(ds_cfg)
        sample = dataset[0]
        assert tuple(sample['inputs'].shape) == (3, 128, 128)
        meta = sample['data_samples'].metainfo
        assert meta['degradation_label'] == TASK_LABELS[meta['task_name']]
    for loader in cfg.test_dataloader:
        dataset = DATASETS.build(loader.dataset)
        assert len(dataset) == 1
        assert dataset[0]['data_samples'].gt_img is not None


def test_restormer_baselines_have_the_active_width_of_sler_ir():
    """A baseline's backbone = one expert path of the SLER-IR backbone."""
    for sler, base in [('configs/sler_ir_5task.py',
                        'configs/restormer/restormer_5task.py'),
                       ('configs/sler_ir_mini_5task.py',
                        'configs/restormer/restormer_mini_5task.py')]:
        net = dict(load(sler).model.generator)
        net.update(num_experts=1)
        plain = MODELS.build(load(base).model.generator)
        routed = MODELS.build(net)
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa
        assert count(plain) == count(routed), (sler, base)


def test_model_index_lists_the_configs():
    import yaml
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    listed = []
    for path in imports:
        with open(osp.join(REPO, path)) as f:
            listed += [m['Config'] for m in yaml.safe_load(f)['Models']]
    assert all(osp.isfile(osp.join(REPO, c)) for c in listed)
    shipped = {c for c in CONFIGS if not c.startswith('configs/smoke')}
    assert set(listed) == shipped
