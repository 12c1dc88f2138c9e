"""The demo's example photos: one per single degradation, made without a
download from the mini benchmark's test photos."""
import os.path as osp

import numpy as np

from sler_ir_mm.apis import read_image
from sler_ir_mm.demo import EXAMPLES, default_examples_dir, make_examples
from sler_ir_mm.demo.examples import _test_photo


def test_one_example_per_single_degradation(examples):
    assert [osp.splitext(osp.basename(p))[0] for p in examples] == \
        list(EXAMPLES)
    tasks = [task for task, _ in EXAMPLES.values()]
    assert sorted(tasks) == sorted(
        ['denoise', 'derain', 'dehaze', 'deblur', 'lowlight'])
    for path, (task, photo) in zip(examples, EXAMPLES.values()):
        image = read_image(path)
        # The mini benchmark's test grid: 2 x 3 cells of 128 x 128.
        assert image.shape == (256, 384, 3) and image.dtype == np.uint8
        clean = _test_photo(photo).astype(float)
        # Degraded: visibly different from the clean test photo.
        assert np.abs(image.astype(float) - clean).mean() > 3, (task, path)


def test_examples_are_made_once_and_deterministic(examples, tmp_path):
    mtimes = [osp.getmtime(p) for p in examples]
    again = make_examples(osp.dirname(examples[0]))
    assert again == examples
    assert [osp.getmtime(p) for p in again] == mtimes  # reused, not redone
    # Another folder gets the same pixels.
    other = make_examples(str(tmp_path / 'other'))
    for a, b in zip(examples, other):
        assert np.array_equal(read_image(a), read_image(b))


def test_default_folder_follows_the_cache_variable(monkeypatch, tmp_path):
    monkeypatch.setenv('SLER_IR_CACHE', str(tmp_path))
    assert default_examples_dir().startswith(str(tmp_path))
    monkeypatch.delenv('SLER_IR_CACHE')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert default_examples_dir().startswith(
        osp.join(str(tmp_path / 'xdg'), 'sler_ir_mm'))
