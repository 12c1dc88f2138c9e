"""A row's test scores, from the ``results.json`` that ``tools/test.py``
writes to its log dir (``<test work dir>/<timestamp>/results.json``)."""
import glob
import json
import os.path as osp
from typing import Dict, Mapping

from sler_ir_mm.evaluation.results_table import group_averages
from .errors import StudyError

__all__ = ['find_test_results', 'read_test_results', 'condense_results']


def find_test_results(test_dir: str) -> str:
    """The newest ``results.json`` under ``test_dir`` (MMEngine's log dirs
    are named by their start time, so the newest sorts last).

    Args:
        test_dir (str): ``--work-dir`` of the test.

    Raises:
        StudyError: No test run under ``test_dir`` wrote one.
    """
    found = sorted(
        glob.glob(osp.join(glob.escape(test_dir), '*', 'results.json')))
    if not found:
        raise StudyError(f'no results.json of tools/test.py under '
                         f'{test_dir}/<time>/')
    return found[-1]


def condense_results(results: Mapping) -> Dict[str, dict]:
    """The per-set scores and the group averages of a ``results.json``.

    Args:
        results (Mapping): What ``tools/test.py`` wrote: ``'sets'`` (set ->
            metric -> value; a set whose name contains '+' is a composite)
            and, in newer files, ``'averages'``.

    Returns:
        dict: ``sets`` (as given) and ``averages``: ``'single'``,
        ``'composite'`` and ``'all'`` (each present when it has sets), as
        :func:`~sler_ir_mm.evaluation.results_table.group_averages` makes
        them.

    Raises:
        StudyError: No ``'sets'``.
    """
    sets = results.get('sets') if isinstance(results, Mapping) else None
    if not isinstance(sets, Mapping) or not sets:
        raise StudyError('results.json has no per-set scores ("sets")')
    sets = {name: dict(values) for name, values in sets.items()}
    return dict(sets=sets, averages=dict(group_averages(sets)))


def read_test_results(test_dir: str) -> Dict[str, dict]:
    """:func:`condense_results` of the newest ``results.json`` under
    ``test_dir``, with its ``path``.

    Args:
        test_dir (str): ``--work-dir`` of the test.
    """
    path = find_test_results(test_dir)
    try:
        with open(path, encoding='utf-8') as f:
            results = json.load(f)
    except (OSError, ValueError) as err:
        raise StudyError(f'cannot read {path}: {err}') from None
    try:
        return dict(condense_results(results), path=path)
    except StudyError as err:
        raise StudyError(f'{path}: {err}') from None
