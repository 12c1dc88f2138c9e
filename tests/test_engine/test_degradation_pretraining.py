"""Pretraining of the degradation encoder: a step of its own,
deterministic whatever the caller's thread count, resumable, cached by
recipe, loaded frozen by PretrainedDegradationEncoder, which never
trains."""
import os.path as osp

import pytest
import torch
from mmagic.registry import MODELS
from tiny_models import TINY_ENCODER_RECIPE, tiny_encoder_recipe

from sler_ir_mm.engine.degradation_pretraining import (
    PRETRAIN_THREADS, ensure_pretrained_encoder, pretrain_degradation_encoder,
    pretrain_missing_encoders)
from sler_ir_mm.models.encoders import EncoderNotPretrainedError
from sler_ir_mm.models.encoders import encoder_recipe as er
from sler_ir_mm.models.encoders.encoder_recipe import (
    cached_encoder_path, check_recipe, config_recipes, read_encoder_meta,
    recipe_key)
from sler_ir_mm.utils.errors import SLERIRError

TOWER = TINY_ENCODER_RECIPE['encoder']


def tiny_recipe(**kwargs):
    return tiny_encoder_recipe(**kwargs)


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def test_recipe_checks_and_key(monkeypatch):
    recipe = tiny_recipe()
    assert recipe_key(recipe) == recipe_key(dict(recipe))
    assert recipe_key(recipe) != recipe_key(tiny_recipe(iters=7))
    # A new mini benchmark (other photos, other degradations) is new data.
    key = recipe_key(recipe)
    monkeypatch.setattr(er, 'BENCHMARK_VERSION', er.BENCHMARK_VERSION + 1)
    assert recipe_key(recipe) != key
    monkeypatch.undo()
    assert cached_encoder_path(recipe, 'c').startswith(osp.join('c', 'tiny-'))
    with pytest.raises(ValueError, match='missing keys'):
        check_recipe({k: v for k, v in recipe.items() if k != 'lr'})
    with pytest.raises(ValueError, match='iters'):
        check_recipe(tiny_recipe(iters=0))
    with pytest.raises(ValueError, match='frozen'):
        check_recipe(tiny_recipe(encoder=dict(TOWER, frozen=True)))


def test_pretraining_is_deterministic_and_resumes_exactly(tmp_path):
    whole = str(tmp_path / 'whole.pth')
    meta = pretrain_degradation_encoder(tiny_recipe(), whole, progress=False)
    assert meta['classes'] == ['denoise', 'derain', 'dehaze', 'deblur',
                               'lowlight']
    assert meta['recipe_key'] == recipe_key(tiny_recipe())
    assert 0 <= meta['heldout_accuracy'] <= 1
    assert read_encoder_meta(whole) == meta
    # Stopped after 3 iterations (state saved), then run again: the same
    # weights as the uninterrupted run, and no state file left.
    split = str(tmp_path / 'split.pth')
    assert pretrain_degradation_encoder(tiny_recipe(), split,
                                        progress=False, stop_after=3) is None
    assert osp.isfile(split + '.resume.pth') and not osp.exists(split)
    pretrain_degradation_encoder(tiny_recipe(), split, progress=False)
    assert not osp.exists(split + '.resume.pth')
    a, b = weights(whole), weights(split)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    assert all(torch.equal(a['state_dict'][k], b['state_dict'][k])
               for k in a['state_dict'])
    assert torch.equal(a['prototypes'], b['prototypes'])
    # The weights changed from the random start.
    torch.manual_seed(0)
    start = MODELS.build(TOWER).visual.state_dict()
    assert not torch.equal(a['state_dict']['visual.conv1.weight'],
                           start['conv1.weight'])


def test_cached_build_and_foreign_files(tmp_path):
    recipe = tiny_recipe(iters=2, save_interval=1)
    cache = str(tmp_path / 'cache')
    path = ensure_pretrained_encoder(recipe, cache)
    assert path == cached_encoder_path(recipe, cache)
    stamp = osp.getmtime(path)
    assert ensure_pretrained_encoder(recipe, cache) == path  # reused
    assert osp.getmtime(path) == stamp
    encoder = MODELS.build(
        dict(type='PretrainedDegradationEncoder', recipe=recipe,
             cache_dir=cache))
    assert type(encoder).__name__ == 'CLIPImageEncoder'
    assert encoder.frozen and not any(p.requires_grad
                                      for p in encoder.parameters())
    saved = weights(path)['state_dict']
    assert torch.equal(encoder.visual.conv1.weight,
                       saved['visual.conv1.weight'])
    # A file at the recipe's path that this recipe did not write is never
    # overwritten.
    other = tiny_recipe(iters=3)
    foreign = cached_encoder_path(other, cache)
    with open(foreign, 'wb') as f:
        f.write(b'not ours')
    with pytest.raises(FileExistsError, match='left alone'):
        ensure_pretrained_encoder(other, cache)
    with open(foreign, 'rb') as f:
        assert f.read() == b'not ours'


def test_damaged_resume_state_starts_over_and_says_so(tmp_path, caplog):
    out = str(tmp_path / 'enc.pth')
    with open(out + '.resume.pth', 'wb') as f:
        f.write(b'PK\x03\x04 not a checkpoint')
    meta = pretrain_degradation_encoder(tiny_recipe(iters=2),
                                        out, progress=False)
    assert meta['recipe_key'] == recipe_key(tiny_recipe(iters=2))
    whole = str(tmp_path / 'whole.pth')
    pretrain_degradation_encoder(tiny_recipe(iters=2), whole, progress=False)
    a, b = weights(out), weights(whole)
    assert all(torch.equal(a['state_dict'][k], b['state_dict'][k])
               for k in a['state_dict'])
    # A file that is no checkpoint is not ours: no meta, no exception.
    assert read_encoder_meta(out + '.resume.pth') is None \
        or not osp.exists(out + '.resume.pth')


def test_building_never_trains_and_names_the_command(tmp_path):
    recipe = tiny_recipe(iters=2, save_interval=1)
    cache = str(tmp_path / 'cache')
    cfg = dict(type='PretrainedDegradationEncoder', recipe=recipe,
               cache_dir=cache, config_key='model.degradation_encoder')
    with pytest.raises(EncoderNotPretrainedError) as err:
        MODELS.build(cfg)
    assert isinstance(err.value, SLERIRError)
    assert isinstance(err.value, FileNotFoundError)
    message = str(err.value)
    assert 'python tools/pretrain_degradation_encoder.py' in message
    assert cached_encoder_path(recipe, cache) in message
    assert not osp.exists(cached_encoder_path(recipe, cache))
    # The pretraining step of a model config makes it; then it builds.
    model_cfg = dict(type='SLERRestorer', degradation_encoder=cfg,
                     content_encoder=dict(type='CLIPImageEncoder'))
    assert list(config_recipes(model_cfg)) == [(recipe, cache)]
    assert pretrain_missing_encoders(model_cfg, progress=False) == [
        cached_encoder_path(recipe, cache)]
    assert MODELS.build(cfg).frozen


def test_weights_do_not_depend_on_the_callers_threads(tmp_path):
    before = torch.get_num_threads()
    metas, results = [], []
    try:
        for threads in (1, 3):
            torch.set_num_threads(threads)
            out = str(tmp_path / f'threads{threads}.pth')
            metas.append(pretrain_degradation_encoder(
                tiny_recipe(iters=3), out, progress=False))
            # The caller's setting is back.
            assert torch.get_num_threads() == threads
            results.append(weights(out))
    finally:
        torch.set_num_threads(before)
    assert [m['torch_threads'] for m in metas] == [PRETRAIN_THREADS] * 2
    a, b = results
    assert all(torch.equal(a['state_dict'][k], b['state_dict'][k])
               for k in a['state_dict'])
    assert torch.equal(a['prototypes'], b['prototypes'])
