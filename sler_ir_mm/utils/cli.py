"""What every command-line tool of the project does with a user's error.

An error about the user's files or settings (a :class:`SLERIRError`: a
refused checkpoint, an unreadable image, a non-finite loss; or a
``FileNotFoundError``: missing weights, a missing data folder) is printed as
one line ``error: <message>`` on stderr and the tool exits with code 1; its
traceback, which only repeats where the code noticed, is shown when the
environment variable ``SLER_IR_TRACEBACK`` is set (to anything but ``0``).
Any other exception is a bug and keeps its traceback.

A tool ends with::

    if __name__ == '__main__':
        run_main(main)

and gives its parser ``epilog=TRACEBACK_EPILOG``. ``run_main`` also keeps
freed memory in the process (:mod:`sler_ir_mm.utils.cpu_allocator`: about
2.5x faster image-sized CPU passes; ``SLER_IR_CPU_ALLOCATOR=0`` turns it
off).
"""
import os
import re
import sys
from typing import Callable, Tuple, Type, TypeVar

from .cpu_allocator import keep_freed_memory
from .errors import SLERIRError

__all__ = [
    'TRACEBACK_ENV', 'TRACEBACK_EPILOG', 'USER_ERRORS', 'error_message',
    'run_main', 'show_traceback'
]

T = TypeVar('T')

TRACEBACK_ENV = 'SLER_IR_TRACEBACK'
TRACEBACK_EPILOG = (
    'An error about your files or settings (missing or refused weights, a '
    'missing data folder, an unreadable image, a non-finite loss) is '
    'printed as one line "error: ..." and the tool exits with code 1; set '
    f'{TRACEBACK_ENV}=1 to see its traceback too.')

# FileNotFoundError: missing CLIP weights and missing data folders are
# raised as the built-in class by code that names the file in the message.
USER_ERRORS: Tuple[Type[BaseException], ...] = (SLERIRError, FileNotFoundError)

_OFF = ('', '0', 'false', 'no', 'off')


def show_traceback() -> bool:
    """Whether ``SLER_IR_TRACEBACK`` asks for tracebacks."""
    return os.environ.get(TRACEBACK_ENV, '').strip().lower() not in _OFF


def error_message(err: BaseException) -> str:
    """The message of ``err`` as a user should read it.

    PyTorch's DataLoader re-raises an error of a worker process as the same
    class, with the worker's traceback in the message ("Caught X in
    DataLoader worker process 0. Original Traceback ..."); only the original
    message is kept.
    """
    text = str(err).strip()
    if text.startswith('Caught ') and 'Original Traceback' in text:
        # The traceback ends with '[module.]ClassName: message'.
        last = None
        for last in re.finditer(
                rf'^(?:[\w.]+\.)?{re.escape(type(err).__name__)}: ', text,
                re.MULTILINE):
            pass
        if last is not None:
            text = text[last.end():].strip()
    return text or type(err).__name__


def run_main(main: Callable[[], T]) -> T:
    """Run a tool's ``main`` and print a user's error as a message.

    Args:
        main (Callable): The tool's entry point, called without arguments.

    Returns:
        What ``main`` returns.

    Raises:
        SystemExit: Code 1 after a :data:`USER_ERRORS` error (unless
            ``SLER_IR_TRACEBACK`` is set: then the error itself).
    """
    keep_freed_memory()
    try:
        return main()
    except USER_ERRORS as err:
        if show_traceback():
            raise
        # What the tool printed so far comes before the error.
        sys.stdout.flush()
        print(f'error: {error_message(err)}', file=sys.stderr, flush=True)
        raise SystemExit(1) from None
