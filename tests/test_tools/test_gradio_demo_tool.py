"""tools/gradio_demo.py: serves on loopback by default, and says what to
install or change instead of a traceback."""
import os.path as osp
import sys

import pytest
from tool_runner import load_tool

SLER_CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'gradio_demo.py'))


class FakeDemo:
    """Records how the tool launches the page."""

    local_url = 'http://127.0.0.1:7860/'
    share_url = 'https://example.gradio.live'

    def __init__(self, error=None):
        self.launched = None
        self.error = error
        self.closed = False

    def queue(self):
        return self

    def launch(self, **kwargs):
        if self.error is not None:
            raise self.error
        self.launched = kwargs

    def block_thread(self):
        raise KeyboardInterrupt  # Ctrl+C at once

    def close(self):
        self.closed = True


@pytest.fixture
def files(repo_root, tmp_path):
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')  # init_restorer is replaced below
    return [osp.join(repo_root, SLER_CFG), str(ckpt)]


@pytest.fixture
def fake(tool, monkeypatch):
    demo = FakeDemo()
    built = {}

    def build_demo(model, **kwargs):
        built.update(kwargs, model=model)
        return demo

    monkeypatch.setattr(tool, 'init_restorer', lambda *a, **k: 'model')
    monkeypatch.setattr(tool, 'build_demo', build_demo)
    monkeypatch.setattr(tool, 'make_examples', lambda folder: ['ex.png'])
    return demo, built


def test_defaults_serve_this_machine_only(tool, files, fake, capsys):
    demo, built = fake
    assert tool.main(files) == 0
    assert demo.launched['server_name'] == '127.0.0.1'
    assert demo.launched['server_port'] == 7860
    assert demo.launched['share'] is False
    assert built == dict(model='model', examples=['ex.png'], tile_large=True)
    out = capsys.readouterr().out
    assert 'serving the demo on http://127.0.0.1:7860/' in out
    assert 'anyone' not in out and demo.closed


def test_another_address_is_a_flag_and_said(tool, files, fake, capsys):
    demo, built = fake
    tool.main(
        files +
        ['--host', '0.0.0.0', '--port', '7999', '--no-tile', '--no-examples'])
    assert demo.launched['server_name'] == '0.0.0.0'
    assert demo.launched['server_port'] == 7999
    assert built['examples'] == [] and built['tile_large'] is False
    assert 'anyone who can reach this machine' in capsys.readouterr().out
    tool.main(files + ['--share'])
    assert demo.launched['share'] is True


def test_a_taken_port_is_a_message(tool, files, fake):
    demo, _ = fake
    demo.error = OSError('Cannot find empty port in range: 7860-7860')
    with pytest.raises(SystemExit, match='choose another --port'):
        tool.main(files)


def test_missing_gradio_names_the_extra(tool, files, monkeypatch):
    monkeypatch.setitem(sys.modules, 'gradio', None)  # import fails
    with pytest.raises(SystemExit, match=r'pip install -e \.\[demo\]'):
        tool.main(files)


def test_bad_arguments(tool, files, capsys):
    with pytest.raises(SystemExit):
        tool.parse_args(files + ['--port', '0'])
    assert '--port must be in 1-65535' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='config file not found'):
        tool.main(['missing.py', files[1]])
