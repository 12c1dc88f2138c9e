"""The demo page: restore one photo and see what the model recognised.

``build_demo(model)`` returns a :class:`gradio.Blocks` page on which a user
uploads or drops a photo (or picks an example made from the mini
benchmark's test photos) and gets:

- the restored photo beside the input, a before/after comparison, and the
  result as a PNG download;
- what the model recognised: a score per known degradation (or, for an
  encoder without degradation prototypes, per routed layer the probability
  of its nearest center) and a plain warning when the photo looks unlike
  every trained degradation;
- the expert path as the route picture of ``restore_images.py
  --show-route`` and as text;
- for large photos, tiling (on by default, :func:`sler_ir_mm.apis.auto_tile`
  picks the tile), a progress bar, and the time and peak memory taken;
- a message in the page, never a stack trace, for a file that is not an
  image the model can take, and a note on every conversion (grayscale,
  alpha, 16 bit, EXIF orientation).

Gradio is an optional extra (``pip install -e .[demo]``), imported when a
page is built, so ``import sler_ir_mm`` never needs it.
"""
import base64
import logging
import os
import os.path as osp
import shutil
import tempfile
import time
from typing import Any, Optional, Sequence

import cv2
import numpy as np
import torch.nn as nn

from .examples import make_examples
from .photo_restore import (PhotoError, PhotoResult, recognition_scores,
                            recognition_text, restore_photo, route_text)

__all__ = [
    'DEMO_INSTALL_HINT', 'GradioMissingError', 'build_demo', 'comparison_html',
    'import_gradio', 'page_values'
]

logger = logging.getLogger(__name__)

#: What installs the demo's dependencies.
DEMO_INSTALL_HINT = 'pip install -e .[demo]'

# Restored PNGs older than this are removed from the page's folder (Gradio
# keeps its own copy of what it served).
_KEEP_OUTPUTS_S = 3600
# Longest side of the before/after previews embedded in the page.
_PREVIEW_SIDE = 1024
_API_NAME = 'restore'


class GradioMissingError(ImportError):
    """Gradio is not installed; the message says how to install it."""


def _accept_boolean_schemas() -> None:
    """Let gradio_client read boolean JSON schemas.

    pydantic>=2.11 writes ``"additionalProperties": true`` for the free
    ``meta`` dict of Gradio's file data; gradio_client 1.7 (Gradio 5.14, the
    newest Gradio that MMagic's huggingface_hub<0.26 allows) expects a dict
    there and fails with ``TypeError: argument of type 'bool' is not
    iterable`` on the API info, which ``launch()`` then reports as "localhost
    is not accessible". In JSON Schema ``true`` accepts anything and
    ``false`` nothing, which is what the fix returns; a gradio_client that
    reads them already is left alone.
    """
    try:
        from gradio_client import utils
    except ImportError:
        return
    original = getattr(utils, '_json_schema_to_python_type', None)
    if original is None or getattr(original, 'sler_ir_fixed', False):
        return
    try:
        utils.json_schema_to_python_type({
            'type': 'object',
            'additionalProperties': True
        })
        return  # reads them already
    except TypeError:
        pass

    def read_schema(schema, defs):
        if isinstance(schema, bool):
            return 'Any' if schema else 'None'
        return original(schema, defs)

    read_schema.sler_ir_fixed = True
    # The parser recurses through the module attribute, so nested boolean
    # schemas go through the fix too.
    utils._json_schema_to_python_type = read_schema


def import_gradio():
    """Import gradio (with :func:`_accept_boolean_schemas`), or say how to
    install it.

    Raises:
        GradioMissingError: Gradio is not installed.
    """
    try:
        import gradio
    except ImportError as err:
        raise GradioMissingError(
            f'the demo needs gradio, which is not installed ({err}); '
            f'install the demo extra: {DEMO_INSTALL_HINT}') from err
    _accept_boolean_schemas()
    return gradio


def _preview(image: np.ndarray) -> np.ndarray:
    """The image with its longest side at most :data:`_PREVIEW_SIDE`."""
    h, w = image.shape[:2]
    scale = _PREVIEW_SIDE / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(
        image, (max(1, round(w * scale)), max(1, round(h * scale))),
        interpolation=cv2.INTER_AREA)


def _png_uri(image: np.ndarray) -> str:
    """A PNG data URI of an RGB(A) uint8 image."""
    code = cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, data = cv2.imencode('.png', cv2.cvtColor(image, code))
    if not ok:
        raise OSError('cannot encode the before/after preview')
    return 'data:image/png;base64,' + base64.b64encode(
        data.tobytes()).decode('ascii')


_TAG_STYLE = ('position:absolute;top:6px;line-height:normal;'
              'background:rgba(0,0,0,.6);color:#fff;padding:1px 6px;'
              'border-radius:4px;font-size:12px')


def comparison_html(before: np.ndarray, after: np.ndarray) -> str:
    """A before/after slider (plain HTML and CSS; a range input moves the
    split) for Gradio versions without ``gr.ImageSlider``.

    Args:
        before (np.ndarray): The input, uint8 RGB or RGBA.
        after (np.ndarray): The restored image, the same size and layout.

    Returns:
        str: The HTML, with both images embedded (at most
        :data:`_PREVIEW_SIDE` pixels on a side).
    """
    before, after = _preview(before), _preview(after)
    # Small photos are shown at up to twice their size, not stretched to
    # the page's width.
    width = 2 * after.shape[1]
    return f'''
<div class="sler-compare-caption" style="font-size:14px;margin:4px 0">
  Before / after: drag the slider under the photo.</div>
<div class="sler-compare" style="position:relative;line-height:0;
  width:min(100%, {width}px);user-select:none">
  <img class="sler-after" src="{_png_uri(after)}" alt="restored"
    style="display:block;width:100%;height:auto">
  <div class="sler-before" style="position:absolute;top:0;bottom:0;left:0;
    width:50%;overflow:hidden;border-right:2px solid #fff;
    box-shadow:1px 0 0 #000">
    <img src="{_png_uri(before)}" alt="input"
      style="display:block;height:100%;width:auto;max-width:none">
  </div>
  <span style="{_TAG_STYLE};left:6px">input</span>
  <span style="{_TAG_STYLE};right:6px">restored</span>
  <input type="range" min="0" max="100" value="50"
    aria-label="move the split between the input and the restored photo"
    oninput="this.parentElement.querySelector('.sler-before').style.width=this.value+'%'"
    style="position:absolute;left:0;right:0;bottom:6px;width:100%;
    margin:0;line-height:normal;cursor:ew-resize">
</div>'''


def _status(result: PhotoResult) -> str:
    text = f'**Done.** {result.stats}.'
    if result.notes:
        # A blank line: the page's Markdown starts no list inside a
        # paragraph.
        text += '\n\n' + '\n'.join(f'- {note}' for note in result.notes)
    return text


def page_values(result: Optional[PhotoResult], status: str,
                slider: bool) -> tuple:
    """What the restore event returns: restored image, download, before /
    after, recognition scores and text, route picture and text, status.

    Args:
        result (PhotoResult, optional): None clears the outputs.
        status (str): The status line (Markdown).
        slider (bool): The before/after is a ``gr.ImageSlider`` (else HTML).
    """
    if result is None:
        return (None, None, None, None, '', None, '', status)
    if slider:
        compare: Any = (result.before, result.after)
    else:
        compare = comparison_html(result.before, result.after)
    return (result.png_path, result.png_path, compare,
            recognition_scores(result.recognition) or None,
            recognition_text(result.recognition), result.route_picture,
            route_text(result.route), status)


_PHOTO_INPUT = {}


def _photo_input_class(gr):
    """``gr.Image`` handing the uploaded file over as it is.

    Gradio's own preprocessing opens the upload with PIL, which fails with
    a stack trace on an unreadable file; :func:`restore_photo` reads it
    itself (16 bit, alpha, EXIF) and says what is wrong. A subclass, not a
    patched instance, because Gradio rebuilds a component from its class
    when an example sets it.
    """
    if 'class' in _PHOTO_INPUT:
        return _PHOTO_INPUT['class']
    from gradio import component_meta

    # Gradio writes a .pyi stub beside the module of every component class
    # defined; this one is private, so none is written into the package.
    write_stub = getattr(component_meta, 'create_or_modify_pyi', None)
    if write_stub is not None:
        component_meta.create_or_modify_pyi = lambda *args, **kwargs: None
    try:

        class PhotoInput(gr.Image):
            # Drawn by the frontend's Image component, as Gradio's own
            # templates (e.g. gr.Sketchpad) are.
            is_template = True

            def preprocess(self, payload):
                return None if payload is None else payload.path

    finally:
        if write_stub is not None:
            component_meta.create_or_modify_pyi = write_stub
    _PHOTO_INPUT['class'] = PhotoInput
    return PhotoInput


def _clean_old(folder: str) -> None:
    """Remove restore folders older than :data:`_KEEP_OUTPUTS_S`."""
    now = time.time()
    for entry in os.scandir(folder):
        try:
            if now - entry.stat().st_mtime > _KEEP_OUTPUTS_S:
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


def build_demo(model: nn.Module,
               examples: Optional[Sequence[str]] = None,
               title: str = 'SLER-IR: restore a photo',
               tile_large: bool = True,
               out_dir: Optional[str] = None):
    """Build the demo page for a restorer.

    Args:
        model (nn.Module): From :func:`sler_ir_mm.apis.init_restorer`.
        examples (Sequence[str], optional): Example photo files. Default:
            one per single degradation of the mini benchmark
            (:func:`~sler_ir_mm.demo.examples.make_examples`); ``[]`` for
            none.
        title (str): The page's heading. Default: 'SLER-IR: restore a
            photo'.
        tile_large (bool): Whether "tile large photos" starts checked.
            Default: True.
        out_dir (str, optional): Where the restored PNGs go: under the
            temp dir, the working directory or a folder in ``launch``'s
            ``allowed_paths`` (what Gradio serves). Default: a new
            temporary folder.

    Returns:
        gradio.Blocks: The page; ``.launch()`` serves it.

    Raises:
        GradioMissingError: Gradio is not installed.
    """
    gr = import_gradio()
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be a torch nn.Module (init_restorer), '
                        f'got {type(model).__name__}')
    examples = make_examples() if examples is None else list(examples)
    for path in examples:
        if not osp.isfile(path):
            raise FileNotFoundError(f'demo example not found: {path}')
    out_dir = out_dir or tempfile.mkdtemp(prefix='sler_ir_demo_')
    os.makedirs(out_dir, exist_ok=True)

    slider = hasattr(gr, 'ImageSlider')

    def restore(photo: Optional[str], tile: bool, progress=gr.Progress()):
        if not photo:
            return page_values(None, 'Upload a photo or pick an example.',
                               slider)
        _clean_old(out_dir)
        progress(0, desc='routing and restoring')

        def tiles_done(done: int, total: int) -> None:
            progress((done, total), desc='restoring', unit='tiles')

        try:
            result = restore_photo(
                model, photo, out_dir, tile_large=tile, progress=tiles_done)
        except PhotoError as err:
            gr.Warning(str(err))
            return page_values(None, f'**Could not restore:** {err}', slider)
        except Exception as err:  # the page shows a message, the log more
            logger.exception('restoring %s failed', photo)
            hint = (' Keep "tile large photos" checked, or try a smaller '
                    'photo.' if isinstance(err, MemoryError)
                    or 'out of memory' in str(err) else '')
            message = (f'Restoring failed ({type(err).__name__}: {err}).'
                       f'{hint} The server log has the details.')
            gr.Warning(message)
            return page_values(None, f'**Could not restore:** {message}',
                               slider)
        for note in result.notes:
            gr.Info(note)
        warning = result.recognition and result.recognition.warning()
        if warning:
            gr.Warning(warning)
        return page_values(result, _status(result), slider)

    # System fonts: the default theme fetches web fonts, which an offline
    # machine waits for.
    theme = gr.themes.Default(
        font=['ui-sans-serif', 'system-ui', 'sans-serif'],
        font_mono=['ui-monospace', 'monospace'])
    with gr.Blocks(
            title=title,
            theme=theme,
            analytics_enabled=False,
            delete_cache=(_KEEP_OUTPUTS_S, _KEEP_OUTPUTS_S)) as demo:
        gr.Markdown(
            f'# {title}\n'
            'Upload or drop a photo, or pick an example (each has one '
            'degradation of the mini benchmark). The page shows the '
            'restored photo, what the model recognised in it and how sure '
            'it is, and the experts it chose.')
        with gr.Row():
            with gr.Column():
                photo = _photo_input_class(gr)(
                    label='Photo',
                    type='filepath',
                    elem_id='sler-photo',
                    sources=['upload', 'clipboard'])
                tile = gr.Checkbox(
                    value=tile_large,
                    label='Tile large photos (bounds the '
                    'memory; the tile is chosen from the photo size)',
                    elem_id='sler-tile')
                button = gr.Button(
                    'Restore', variant='primary', elem_id='sler-restore')
            with gr.Column():
                restored = gr.Image(
                    label='Restored',
                    elem_id='sler-restored',
                    interactive=False,
                    format='png',
                    show_download_button=True)
                download = gr.File(
                    label='Download the restored photo (PNG)',
                    elem_id='sler-download',
                    interactive=False)
        status = gr.Markdown(elem_id='sler-status')
        if examples:
            gr.Examples(
                examples=[[path] for path in examples],
                inputs=[photo],
                label='Examples: ' +
                ', '.join(osp.splitext(osp.basename(p))[0] for p in examples),
                examples_per_page=len(examples))
        if slider:
            compare = gr.ImageSlider(
                label='Before / after',
                elem_id='sler-compare',
                interactive=False)
        else:
            compare = gr.HTML(label='Before / after', elem_id='sler-compare')
        with gr.Row():
            with gr.Column():
                label = gr.Label(
                    label='What it recognised',
                    elem_id='sler-recognition',
                    num_top_classes=8)
                recognition = gr.Markdown(elem_id='sler-recognition-text')
            with gr.Column():
                route = gr.Image(
                    label='Expert path (route picture)',
                    elem_id='sler-route',
                    interactive=False,
                    format='png')
                path_text = gr.Markdown(elem_id='sler-route-text')
        # One restore at a time: the model is shared.
        event = dict(
            fn=restore,
            inputs=[photo, tile],
            outputs=[
                restored, download, compare, label, recognition, route,
                path_text, status
            ],
            concurrency_id='restore',
            concurrency_limit=1)
        button.click(api_name=_API_NAME, **event)
        # An upload, a paste or an example restores at once.
        photo.change(show_api=False, api_name=False, **event)
    return demo
