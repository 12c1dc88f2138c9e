"""Pre-flight check of load_from/--resume checkpoints against the model."""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmagic.registry import MODELS

from sler_ir_mm.engine import (CheckpointMismatchError,
                               check_checkpoint_matches, checkpoint_to_load)
from sler_ir_mm.engine.checkpoint_check import (compare_state_shapes,
                                               read_checkpoint_shapes)

BACKBONE = dict(
    dim=8,
    num_blocks=(1, 1, 1, 1),
    num_refinement_blocks=1,
    heads=(1, 1, 2, 2))


def sler(num_experts=2):
    return MODELS.build(
        dict(
            type='SLERRestorer',
            generator=dict(type='SLERNet', num_experts=num_experts,
                           **BACKBONE),
            router=dict(type='SphericalRouter', embed_dim=8),
            degradation_encoder=dict(
                type='ConvDegradationEncoder', channels=(8, ),
                embed_dim=16),
            pixel_loss=dict(type='L1Loss'),
            data_preprocessor=dict(
                type='DataPreprocessor',
                mean=[0., 0., 0.],
                std=[255., 255., 255.])))


def restormer():
    return MODELS.build(
        dict(
            type='BaseEditModel',
            generator=dict(type='Restormer', **BACKBONE),
            pixel_loss=dict(type='L1Loss')))


def save(tmp_path, model, name, wrap=True):
    path = str(tmp_path / name)
    state = model.state_dict()
    torch.save(dict(state_dict=state, meta=dict(iter=1)) if wrap else state,
               path)
    return path


def mismatch_message(model, ckpt):
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint_matches(model, ckpt)
    return str(err.value)


def test_matching_checkpoint_passes(tmp_path):
    model = sler()
    check_checkpoint_matches(model, save(tmp_path, model, 'same.pth'))
    # A bare state dict with DDP's 'module.' prefix, as MMEngine loads it.
    bare = {f'module.{k}': v for k, v in model.state_dict().items()}
    torch.save(bare, tmp_path / 'ddp.pth')
    check_checkpoint_matches(model, str(tmp_path / 'ddp.pth'))


def test_other_number_of_experts(tmp_path):
    msg = mismatch_message(sler(2), save(tmp_path, sler(3), 'c3.pth'))
    assert 'c3.pth does not match the model' in msg
    assert ('the checkpoint has C=3 experts per layer, the config builds '
            'num_experts=2: set model.generator.num_experts=3') in msg
    assert 'unexpected keys' in msg
    assert 'generator.encoder_level1.experts.2.' in msg
    assert 'router.centers: (3, 8) vs (2, 8)' in msg
    # And the other way round: the experts the checkpoint lacks are missing.
    msg = mismatch_message(sler(3), save(tmp_path, sler(2), 'c2.pth'))
    assert 'C=2 experts per layer' in msg and 'num_experts=3' in msg
    assert 'missing keys' in msg


def test_plain_restormer_checkpoint(tmp_path):
    msg = mismatch_message(sler(), save(tmp_path, restormer(), 'r.pth'))
    assert 'plain Restormer' in msg
    assert "'generator.encoder_level1.0." in msg
    assert 'SLERNet.load_restormer_weights' in msg
    # The official release's layout (BasicSR: {'params': ...}, no prefix).
    torch.save(dict(params=restormer().generator.state_dict()),
               tmp_path / 'official.pth')
    msg = mismatch_message(sler(), str(tmp_path / 'official.pth'))
    assert 'plain Restormer' in msg and "'encoder_level1.0." in msg


def test_sler_checkpoint_for_a_model_without_experts(tmp_path):
    msg = mismatch_message(restormer(), save(tmp_path, sler(3), 's.pth'))
    assert 'SLER-IR model with C=3 experts per layer' in msg
    assert 'model without experts' in msg


def test_checkpoint_of_another_architecture(tmp_path):
    path = str(tmp_path / 'resnet.pth')
    torch.save(dict(state_dict=nn.Sequential(nn.Linear(2, 2)).state_dict()),
               path)
    msg = mismatch_message(restormer(), path)
    assert 'another architecture' in msg
    assert 'checkpoint modules: 0' in msg and 'generator' in msg
    assert 'missing keys' in msg and 'unexpected keys' in msg


def test_shape_mismatch_only():
    problems = compare_state_shapes({'a': (2, 3), 'b': (1, )},
                                    {'a': (2, 4), 'b': (1, )})
    assert problems == [
        '1 shape mismatches (checkpoint vs model): a: (2, 3) vs (2, 4)'
    ]
    assert compare_state_shapes({'a': (1, )}, {'a': (1, )}) == []


def test_long_listings_are_cut():
    model = {f'k{i}': (1, ) for i in range(9)}
    problems = compare_state_shapes({}, model, max_listed=2)
    assert problems[-1] == ('9 missing keys (in the model, not in the '
                            'checkpoint): k0, k1 (+7 more)')


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / 'truncated.pth'
    bad.write_bytes(b'not a checkpoint' * 8)
    with pytest.raises(CheckpointMismatchError,
                       match='cannot read checkpoint .*truncated.pth'):
        read_checkpoint_shapes(str(bad))
    with pytest.raises(CheckpointMismatchError, match='checkpoint not found'):
        read_checkpoint_shapes(str(tmp_path / 'nope.pth'))
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(CheckpointMismatchError, match='holds a list'):
        read_checkpoint_shapes(str(tmp_path / 'list.pth'))


def test_checkpoint_to_load(tmp_path):
    work_dir = str(tmp_path)
    assert checkpoint_to_load(None, False, work_dir) is None
    assert checkpoint_to_load('a.pth', False, work_dir) == 'a.pth'
    assert checkpoint_to_load('a.pth', True, work_dir) == 'a.pth'
    # --resume without a path: the work dir's latest, if there is one.
    assert checkpoint_to_load(None, True, work_dir) is None
    latest = osp.join(work_dir, 'iter_4.pth')
    open(latest, 'wb').close()
    with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(latest)
    assert checkpoint_to_load(None, True, work_dir) == latest


def test_empty_last_checkpoint_names_a_checkpoint_to_resume(tmp_path):
    from sler_ir_mm.engine import UnreadableCheckpointError
    (tmp_path / 'epoch_1.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text('')
    with pytest.raises(UnreadableCheckpointError) as err:
        checkpoint_to_load(None, True, str(tmp_path))
    assert 'last_checkpoint' in str(err.value) and 'is empty' in str(
        err.value)
    assert f'--resume {tmp_path / "epoch_1.pth"}' in str(err.value)


def test_unreadable_checkpoint_is_its_own_error(tmp_path):
    from sler_ir_mm.engine import UnreadableCheckpointError
    bad = tmp_path / 'epoch_2.pth'
    bad.write_bytes(b'PK\x03\x04 truncated')
    with pytest.raises(UnreadableCheckpointError, match='cannot read'):
        read_checkpoint_shapes(str(bad))
    with pytest.raises(UnreadableCheckpointError, match='not found'):
        read_checkpoint_shapes(str(tmp_path / 'missing.pth'))


def test_read_shapes_of_the_usual_layouts(tmp_path):
    w = torch.zeros(2, 3)
    layouts = {
        # MMEngine, saved under DDP: the prefix goes, as MMEngine loads it.
        'mmengine': dict(state_dict={'module.a': w, 'b': 3}, meta={}),
        # BasicSR's EMA weights; the legacy (pre-zip) format is not mapped.
        'basicsr_ema': dict(params_ema={'a': w}),
        'bare': {'a': w},
    }
    for name, ckpt in layouts.items():
        path = tmp_path / f'{name}.pth'
        torch.save(ckpt, path, _use_new_zipfile_serialization=(
            name != 'basicsr_ema'))
        shapes = read_checkpoint_shapes(str(path))
        assert shapes['a'] == (2, 3), name
    assert read_checkpoint_shapes(str(tmp_path / 'mmengine.pth')) == {
        'a': (2, 3),
        'b': None
    }
    torch.save(dict(state_dict=[w]), tmp_path / 'odd.pth')
    with pytest.raises(CheckpointMismatchError,
                       match="'state_dict' is a list, not a dict"):
        read_checkpoint_shapes(str(tmp_path / 'odd.pth'))
