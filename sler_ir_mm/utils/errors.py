"""The base class of the errors a user of sler_ir_mm can act on.

A missing or refused checkpoint, a bad data tree, an unreadable image or a
non-finite loss is not a bug of the code but a fact about the user's files
or settings, and its message says what to change. Those errors derive from
:class:`SLERIRError` (next to the built-in class they have always had, so
``except ValueError`` and ``except OSError`` keep catching them), which lets
the command-line tools print them as one line instead of a traceback
(:func:`sler_ir_mm.utils.cli.run_main`).

A subclass must take the message as its only positional argument: MMEngine's
registry re-raises an error of a build as ``type(err)(message)``.
"""

__all__ = ['SLERIRError']


class SLERIRError(Exception):
    """An error whose message tells the user what to change.

    Derive a project error from it and from the built-in class callers
    expect, e.g. ``class CheckpointMismatchError(SLERIRError, ValueError)``.
    """
