"""The demo page served on a loopback port, driven through gradio_client."""
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from demo_testing import CLASSES, DEMO_INSTALL, need

from sler_ir_mm.apis import read_image, restore_image

PLAIN = dict(zip(CLASSES, ('noise', 'rain', 'haze', 'blur', 'low light')))


@pytest.fixture(scope='module')
def client(demo_url):
    gradio_client = need('gradio_client', DEMO_INSTALL)
    return gradio_client.Client(demo_url, verbose=False)


def restore(client, path, tile=True):
    from gradio_client import handle_file
    return dict(
        zip(('restored', 'download', 'compare', 'label', 'recognition',
             'route', 'route_text', 'status'),
            client.predict(handle_file(path), tile, api_name='/restore')))


def test_importing_the_package_does_not_import_gradio(repo_root):
    code = ('import sys, sler_ir_mm, sler_ir_mm.demo; '
            "sys.exit('gradio' in sys.modules)")
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_a_missing_gradio_names_the_install_command(monkeypatch, tiny_model):
    from sler_ir_mm.demo import GradioMissingError, build_demo
    monkeypatch.setitem(sys.modules, 'gradio', None)  # import fails
    with pytest.raises(GradioMissingError, match=r'pip install -e \.\[demo\]'):
        build_demo(tiny_model, examples=[])


def test_an_example_round_trip(client, tiny_model, examples):
    out = restore(client, examples[2])
    expected = restore_image(tiny_model, examples[2])
    restored = read_image(out['restored'])
    assert np.array_equal(restored, expected.image)
    assert np.array_equal(read_image(out['download']), expected.image)
    assert osp.basename(out['download']) == 'haze_coffee_restored.png'
    assert not np.array_equal(restored, read_image(examples[2]))
    # What it recognised, with a score per known degradation.
    rec = expected.recognition
    assert out['label']['label'] == PLAIN[rec.label]
    scores = {c['label']: c['confidence'] for c in out['label']['confidences']}
    assert set(scores) == set(PLAIN.values())
    assert scores[PLAIN[rec.label]] == pytest.approx(rec.scores[rec.label])
    assert f'**Recognised: {PLAIN[rec.label]}**' in out['recognition']
    # The path as picture and text, the before/after, the figures.
    assert read_image(out['route']).ndim == 3
    assert '-'.join(map(str, rec.route)) in out['route_text']
    assert 'sler-compare' in out['compare'] or out['compare']
    assert out['status'].startswith('**Done.** 384 x 256 pixels')
    assert 'peak resident memory' in out['status']


def test_conversions_are_said_in_the_page(client, tmp_path):
    path = str(tmp_path / 'gray16.png')
    rng = np.random.default_rng(0)
    cv2.imwrite(path, rng.integers(0, 65536, (40, 56)).astype(np.uint16))
    out = restore(client, path)
    assert 'Grayscale photo' in out['status']
    assert '16-bit photo' in out['status']
    assert read_image(out['restored']).shape == (40, 56)  # gray, 8 bit


@pytest.mark.parametrize('case', ['unreadable', 'too_small'])
def test_bad_photos_get_a_message_not_a_stack_trace(client, tmp_path, case):
    path = tmp_path / f'{case}.png'
    if case == 'unreadable':
        path.write_bytes(b'\x89PNG\r\n\x1a\n but then nothing of an image')
        words = 'not a decodable image'
    else:
        cv2.imwrite(str(path), np.zeros((10, 12, 3), np.uint8))
        words = 'too small for the model'
    out = restore(client, str(path))
    assert out['status'].startswith('**Could not restore:** ')
    assert words in out['status'] and f'{case}.png' in out['status']
    assert 'Traceback' not in out['status']
    assert out['restored'] is None and not out['label']


def test_the_before_after_slider_embeds_small_previews():
    import base64
    import re

    from sler_ir_mm.demo.gradio_app import comparison_html
    before = np.zeros((1500, 3000, 3), np.uint8)
    after = np.full((1500, 3000, 3), 200, np.uint8)
    html = comparison_html(before, after)
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == 2
    for uri, value in zip(uris, (200, 0)):  # the restored one is drawn first
        data = np.frombuffer(base64.b64decode(uri), np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        assert img.shape == (512, 1024, 3) and img.mean() == value
    assert 'type="range"' in html and 'sler-before' in html
    # Alpha is kept in the preview.
    rgba = np.zeros((20, 30, 4), np.uint8)
    assert comparison_html(rgba, rgba).count('base64,') == 2


def test_boolean_json_schemas_are_read():
    """pydantic>=2.11 writes them for Gradio's file data; the demo's import
    of gradio lets gradio_client read them."""
    need('gradio', DEMO_INSTALL)
    from gradio_client import utils

    from sler_ir_mm.demo import import_gradio
    gr = import_gradio()
    schema = {'type': 'object', 'additionalProperties': True}
    assert utils.json_schema_to_python_type(schema) == 'dict(str, Any)'
    # Gradio's own file data (its meta is such a free dict).
    assert 'path' in utils.json_schema_to_python_type(gr.File().api_info())
