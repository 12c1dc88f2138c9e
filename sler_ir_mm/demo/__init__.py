"""A web page to restore one photo and see what the model recognised.

``build_demo(model)`` builds the Gradio page (``tools/gradio_demo.py``
serves it). Gradio is an optional extra (``pip install -e .[demo]``): it is
imported when a page is built, never by ``import sler_ir_mm`` or by this
package's import; the rest (examples, the restore behind the page) works
without it.
"""
from .examples import EXAMPLES, default_examples_dir, make_examples
from .gradio_app import (DEMO_INSTALL_HINT, GradioMissingError, build_demo,
                         import_gradio)
from .peak_memory import PeakMemory
from .photo_restore import PhotoError, PhotoResult, restore_photo

__all__ = [
    'DEMO_INSTALL_HINT', 'EXAMPLES', 'GradioMissingError', 'PeakMemory',
    'PhotoError', 'PhotoResult', 'build_demo', 'default_examples_dir',
    'import_gradio', 'make_examples', 'restore_photo'
]
