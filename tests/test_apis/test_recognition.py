"""What the model recognised: prototypes kept by the pretraining, the
"unlike every trained degradation" threshold chosen on held-out training
views, and the recognition restore_image returns."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from tiny_models import tiny_encoder_recipe

from sler_ir_mm.apis import Recognition, init_restorer, restore_image
from sler_ir_mm.engine.degradation_pretraining import (
    SIMILARITY_QUANTILE, calibrate_pretrained_encoder, classify_tiles,
    ensure_pretrained_encoder, pretrain_degradation_encoder)
from sler_ir_mm.models.encoders import load_degradation_prototypes

SLER_CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
RESTORMER_CFG = osp.join('configs', 'smoke', 'restormer_smoke.py')
CLASSES = ['denoise', 'derain', 'dehaze', 'deblur', 'lowlight']


def tiny_recipe(**kwargs):
    return tiny_encoder_recipe(
        **dict(dict(name='tiny_recognition', val_samples=16,
                    save_interval=100), **kwargs))


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def cache_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('encoders'))
    ensure_pretrained_encoder(tiny_recipe(), path, progress=False)
    return path


@pytest.fixture(scope='module')
def sler(repo_root, cache_dir):
    torch.manual_seed(0)
    encoder = dict(_delete_=True, type='PretrainedDegradationEncoder',
                   recipe=tiny_recipe(),
                   cache_dir=cache_dir)
    return init_restorer(
        osp.join(repo_root, SLER_CFG),
        cfg_options={'model.degradation_encoder': encoder})


def image(h=40, w=56, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 60 * np.sin(xx / 9.), 128 + 60 * np.cos(yy / 7.),
                     100 + 50 * np.sin((xx + yy) / 11.)], -1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0,
                   255).astype(np.uint8)


def test_pretraining_calibrates_the_unlike_threshold(tmp_path):
    path = str(tmp_path / 'enc.pth')
    meta = pretrain_degradation_encoder(tiny_recipe(), path, progress=False)
    calib = meta['similarity_calibration']
    assert calib['quantile'] == SIMILARITY_QUANTILE
    assert calib['samples'] == 16 and -1 <= calib['threshold'] <= 1
    assert set(calib['class_median']) <= set(CLASSES)
    protos = load_degradation_prototypes(path)
    assert protos.classes == tuple(CLASSES)
    assert protos.threshold == calib['threshold']
    torch.testing.assert_close(protos.prototypes.norm(dim=-1),
                               torch.ones(5))
    # A file from before the calibration gets the same threshold, and
    # nothing else in it changes.
    obj = torch.load(path, weights_only=True)
    del obj['meta']['similarity_calibration']
    torch.save(obj, path)
    assert load_degradation_prototypes(path).threshold is None
    assert calibrate_pretrained_encoder(tiny_recipe(), path) == calib
    again = torch.load(path, weights_only=True)
    assert again['meta']['similarity_calibration'] == calib
    for key, value in obj['state_dict'].items():
        assert torch.equal(again['state_dict'][key], value), key
    with pytest.raises(ValueError, match='not written by this recipe'):
        calibrate_pretrained_encoder(tiny_recipe(iters=7), path)


def test_files_without_prototypes_have_no_names(tmp_path):
    path = str(tmp_path / 'plain.pth')
    torch.save({'state_dict': {}}, path)
    assert load_degradation_prototypes(path) is None


def test_restore_image_returns_what_the_encoder_recognised(sler):
    img = image()
    result = restore_image(sler, img)
    rec = result.recognition
    assert isinstance(rec, Recognition) and rec.source == 'prototypes'
    assert list(rec.scores) == CLASSES
    assert sum(rec.scores.values()) == pytest.approx(1, abs=1e-3)
    assert rec.label == max(rec.scores, key=rec.scores.get)
    assert rec.route == result.route.tolist()
    assert len(rec.layer_scores) == 8
    assert all(np.argmax(p) == i for p, i in zip(rec.layer_scores,
                                                 rec.route))
    assert rec.unlike == (rec.similarity < rec.threshold)
    # The same degradation as the pretraining tool's classification of the
    # same routing tiles (tiles are what the router reads).
    protos = sler.degradation_encoder.degradation_prototypes
    enc = sler.degradation_encoder

    def logits(views):
        return protos.logit_scale * protos.cosines(enc(views).cls)

    tensor = torch.from_numpy(img).permute(2, 0, 1).float() / 255.
    pred = classify_tiles(logits, [tensor], sler.route_tile_size,
                          sler.route_max_tiles_per_side)['pred'][0]
    assert rec.label == CLASSES[pred]
    out = rec.to_dict()
    json.dumps(out)
    assert out['path'] == '-'.join(map(str, rec.route))
    assert rec.label in rec.describe() and out['path'] in rec.describe()


def test_the_warning_follows_the_threshold(sler, monkeypatch):
    protos = sler.degradation_encoder.degradation_prototypes
    img = image(seed=1)
    monkeypatch.setattr(sler.degradation_encoder, 'degradation_prototypes',
                        protos._replace(threshold=1.0, quantile=0.01))
    rec = restore_image(sler, img).recognition
    assert rec.unlike is True and 'UNLIKE' in rec.describe()
    assert 'unlike every degradation' in rec.warning()
    assert '1 %' in rec.warning()
    monkeypatch.setattr(sler.degradation_encoder, 'degradation_prototypes',
                        protos._replace(threshold=-1.0))
    assert restore_image(sler, img).recognition.warning() is None
    monkeypatch.setattr(sler.degradation_encoder, 'degradation_prototypes',
                        protos._replace(threshold=None))
    rec = restore_image(sler, img).recognition
    assert rec.unlike is None and rec.warning() is None


def test_without_prototypes_only_the_centers(repo_root):
    torch.manual_seed(0)
    model = init_restorer(osp.join(repo_root, SLER_CFG))
    rec = restore_image(model, image()).recognition
    assert rec.source == 'centers' and rec.label is None and not rec.scores
    assert rec.unlike is None and rec.warning() is None
    assert -1 <= rec.similarity <= 1
    assert 'no degradation names' in rec.describe()
    plain = init_restorer(osp.join(repo_root, RESTORMER_CFG))
    assert restore_image(plain, image()).recognition is None


def test_progress_reports_every_tile(sler):
    calls = []
    restore_image(sler, image(64, 80), tile=32, tile_overlap=8,
                  progress=lambda done, total: calls.append((done, total)))
    total = calls[-1][1]
    assert total > 1 and calls == [(i, total) for i in range(1, total + 1)]
    calls.clear()
    restore_image(sler, image(), progress=lambda *a: calls.append(a))
    assert calls == [(1, 1)]
