"""The errors of the equal-budget study a user can act on."""
from sler_ir_mm.utils.errors import SLERIRError

__all__ = ['StudyError', 'StudyBudgetError']


class StudyError(SLERIRError, ValueError):
    """A study cannot run or read its results: a bad row list, a missing
    config or result file, a metafile without good ``Study`` entries."""


class StudyBudgetError(StudyError):
    """A study folder holds a row trained with another budget (epochs,
    batch sizes, seed or config overrides) than the one asked for."""
