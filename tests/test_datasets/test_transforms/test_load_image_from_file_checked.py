import cv2
import numpy as np
import pytest

import sler_ir_mm  # noqa: F401  (numpy-2 fixes before mmagic)
from mmagic.registry import TRANSFORMS
from sler_ir_mm.datasets import (LoadImageFromFileChecked,
                                 UnreadableImageError, bad_samples)


@pytest.fixture
def logged(monkeypatch):
    lines = []
    monkeypatch.setattr(bad_samples, '_reported', set())
    monkeypatch.setattr(bad_samples, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    return lines


def test_reasons_name_the_file(tmp_path):
    load = LoadImageFromFileChecked(key='gt', channel_order='rgb')
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(UnreadableImageError) as e:
        load(dict(gt_path=str(empty)))
    assert str(e.value) == (f"cannot read image file {empty} (key 'gt'): "
                            'empty file (0 bytes)')
    text = tmp_path / 'text.png'
    text.write_text('12345')
    with pytest.raises(UnreadableImageError) as e:
        load(dict(gt_path=str(text)))
    assert str(e.value) == (f"cannot read image file {text} (key 'gt'): "
                            'not a decodable image (5 bytes): truncated, '
                            'corrupt or not an image file')


def test_16_bit_is_8_bit_unless_decoded_unchanged(tmp_path):
    path = str(tmp_path / 'deep.png')
    k = np.arange(48, dtype=np.uint16).reshape(4, 4, 3)
    cv2.imwrite(path, k * 257)
    img = LoadImageFromFileChecked(key='img')(dict(img_path=path))['img']
    assert img.dtype == np.uint8
    np.testing.assert_array_equal(img, k)
    unchanged = LoadImageFromFileChecked(key='img', color_type='unchanged')
    with pytest.raises(UnreadableImageError, match='decoded as uint16'):
        unchanged(dict(img_path=path))


def test_skip_returns_none_and_logs_once(tmp_path, logged):
    load = TRANSFORMS.build(
        dict(type='LoadImageFromFileChecked', key='img', on_error='skip'))
    assert load.on_error == 'skip'
    assert repr(load).endswith(", on_error='skip')")
    missing = str(tmp_path / 'gone.png')
    assert load(dict(img_path=missing)) is None
    assert load(dict(img_path=missing)) is None
    assert logged == [
        "skipping a training sample (on_error='skip'): image file not "
        f"found: {missing} (key 'img')"
    ]
    with pytest.raises(
            ValueError,
            match='LoadImageFromFileChecked: '
            'on_error must be one of'):
        LoadImageFromFileChecked(key='img', on_error='warn')
