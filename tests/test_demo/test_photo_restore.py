"""restore_photo: what the demo page shows for one photo (no Gradio)."""
import os.path as osp

import cv2
import numpy as np
import pytest
from demo_testing import CLASSES

from sler_ir_mm.apis import Recognition, read_image, restore_image
from sler_ir_mm.demo import PhotoError, restore_photo
from sler_ir_mm.demo import photo_restore
from sler_ir_mm.demo.photo_restore import (describe_conversions,
                                           recognition_scores,
                                           recognition_text, route_text)

PLAIN = ('noise', 'rain', 'haze', 'blur', 'low light')


def photo(h=48, w=64, channels=3, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    top = 255 if dtype == np.uint8 else 65535
    shape = (h, w) if channels == 1 else (h, w, channels)
    return rng.integers(0, top + 1, shape).astype(dtype)


def test_an_example_is_restored_with_what_it_recognised(
        tiny_model, examples, tmp_path):
    calls = []
    result = restore_photo(
        tiny_model,
        examples[1],
        str(tmp_path),
        progress=lambda d, t: calls.append((d, t)))
    expected = restore_image(tiny_model, examples[1])
    assert np.array_equal(result.image, expected.image)
    assert np.array_equal(read_image(result.png_path), expected.image)
    assert osp.basename(result.png_path) == 'rain_rocket_restored.png'
    assert not np.array_equal(result.image, read_image(examples[1]))
    assert result.before.shape == result.after.shape == (256, 384, 3)
    # What it recognised: a probability per known degradation, plain names.
    rec = result.recognition
    assert rec.label in CLASSES and rec == expected.recognition
    scores = recognition_scores(rec)
    assert list(scores) == list(PLAIN)
    assert abs(sum(scores.values()) - 1) < 1e-3
    text = recognition_text(rec)
    plain = dict(zip(CLASSES, PLAIN))[rec.label]
    assert text.startswith(f'**Recognised: {plain}**')
    assert 'Warning' not in text  # the threshold is below every photo
    # The path, as picture and text.
    assert result.route == expected.route.tolist() == rec.route
    assert result.route_picture.ndim == 3 and result.route_picture.shape[2] == 3
    path = route_text(result.route)
    assert 'enc1 E' in path and 'refine E' in path
    assert '-'.join(map(str, result.route)) in path
    # Small: restored whole, with time and memory, in one progress step.
    assert 'restored whole' in result.stats and ' s' in result.stats
    assert 'peak resident memory' in result.stats
    assert calls == [(1, 1)]
    assert result.notes == []


def test_large_photos_are_tiled_with_progress(tiny_model, tmp_path,
                                              monkeypatch):
    # auto_tile's real threshold is megapixels; a small stand-in keeps the
    # test fast.
    monkeypatch.setattr(photo_restore, 'auto_tile', lambda h, w: 32
                        if h * w > 48 * 64 - 1 else None)
    path = str(tmp_path / 'big.png')
    cv2.imwrite(path, photo(64, 96))
    calls = []
    result = restore_photo(
        tiny_model,
        path,
        str(tmp_path),
        progress=lambda d, t: calls.append((d, t)))
    # The overlap of restore_images.py: 32, or a quarter of a small tile.
    assert 'tiles of 32 px (overlap 8)' in result.stats
    assert len(calls) > 1 and calls[-1][0] == calls[-1][1] == len(calls)
    expected = restore_image(tiny_model, path, tile=32, tile_overlap=8)
    assert np.array_equal(result.image, expected.image)
    untiled = restore_photo(tiny_model, path, str(tmp_path), tile_large=False)
    assert 'restored whole' in untiled.stats


@pytest.mark.parametrize('kind', ['gray', 'rgba', '16bit', 'exif'])
def test_conversions_are_said_and_the_layout_kept(tiny_model, tmp_path, kind):
    path = str(tmp_path / f'{kind}.png')
    if kind == 'gray':
        cv2.imwrite(path, photo(channels=1))
        words, shape = 'Grayscale', (48, 64)
    elif kind == 'rgba':
        cv2.imwrite(path, photo(channels=4))
        words, shape = 'alpha', (48, 64, 4)
    elif kind == '16bit':
        cv2.imwrite(path, photo(dtype=np.uint16))
        words, shape = '16-bit', (48, 64, 3)
    else:
        from PIL import Image
        img = Image.fromarray(photo())
        exif = Image.Exif()
        exif[0x0112] = 6  # shown rotated by 90 degrees clockwise
        path = str(tmp_path / 'exif.jpg')
        img.save(path, exif=exif.tobytes())
        words, shape = 'EXIF orientation', (64, 48, 3)  # upright
    result = restore_photo(tiny_model, path, str(tmp_path))
    assert len(result.notes) == 1 and words in result.notes[0], result.notes
    assert result.image.shape == shape
    assert read_image(result.png_path).shape == shape
    if kind == 'rgba':
        assert np.array_equal(result.image[..., 3], read_image(path)[..., 3])


def test_describe_conversions_covers_every_case():
    assert describe_conversions(photo()) == []
    notes = describe_conversions(photo(channels=2, dtype=np.uint16), 8)
    assert len(notes) == 4
    assert 'counter-clockwise' in notes[0]


@pytest.mark.parametrize('case', ['garbage', 'empty', 'tiny'])
def test_photos_it_cannot_take_raise_a_plain_message(tiny_model, tmp_path,
                                                     case):
    folder = tmp_path / 'uploads' / 'a1b2c3'
    folder.mkdir(parents=True)
    path = folder / f'{case}.png'
    if case == 'garbage':
        path.write_bytes(b'this is not an image' * 10)
        words = 'not a decodable image'
    elif case == 'empty':
        path.write_bytes(b'')
        words = 'empty file'
    else:
        cv2.imwrite(str(path), photo(8, 12))
        words = 'too small for the model'
    with pytest.raises(PhotoError) as info:
        restore_photo(tiny_model, str(path), str(tmp_path))
    message = str(info.value)
    assert words in message and f'{case}.png' in message
    # The server's upload folder is no business of the user's.
    assert str(folder) not in message


def test_text_without_prototypes_and_when_unlike():
    centers = Recognition(None, {}, 0.8, None, None, 'centers',
                          [[0.7, 0.2, 0.1]] * 8, [0, 1, 2, 0, 1, 2, 0, 1])
    scores = recognition_scores(centers)
    assert list(scores)[0] == 'enc1: nearest center E1'
    assert scores['enc2: nearest center E2'] == pytest.approx(0.2)
    text = recognition_text(centers)
    assert 'no degradation prototypes' in text
    assert 'nearest routing centers' in text
    unlike = Recognition('dehaze', dict(zip(CLASSES,
                                            [.1, .1, .6, .1, .1])), 0.2, 0.36,
                         True, 'prototypes', [[1.0]] * 8, [0] * 8, 0.01)
    text = recognition_text(unlike)
    assert '**Recognised: haze**' in text
    assert '**Warning:** ' + unlike.warning() in text
    uncalibrated = unlike._replace(threshold=None, unlike=None)
    assert 'check is off' in recognition_text(uncalibrated)
    assert 'does not route' in recognition_text(None)
    assert 'does not route' in route_text(None)
