"""The rows of the equal-budget study: the models of ``metafile.yml`` that
have a ``Study`` entry, after the degraded-input reference row."""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import yaml

from .errors import StudyError

__all__ = [
    'StudyRow', 'DEGRADED_INPUT', 'DATA_ROW', 'load_study_rows', 'select_rows'
]

#: The reference row: the degraded inputs scored (no training).
DEGRADED_INPUT = 'degraded_input'
#: The row whose config gives the degraded-input row its test sets.
DATA_ROW = 'sler_ir'


class StudyRow(NamedTuple):
    """One model of the study (in metafile.yml: the model's ``Config`` and
    its ``Study`` keys ``Row``, ``Label``, ``Table``, ``Default``,
    ``Routed``, ``Baseline``).

    Attributes:
        name (str): Short name, used for ``--rows`` and the work dir.
        label (str): What the tables call it.
        config (str): Config file, relative to the repository root (or
            absolute).
        paper (str): The paper's table it mirrors.
        default (bool): Whether it is in the default list.
        trained (bool): False for the degraded-input reference row.
        routed (bool): Whether the model routes (route statistics).
        baseline (str, optional): The row without routing trained the same
            way, which the summary measures this row's margin against.
    """
    name: str
    label: str
    config: str
    paper: str = '-'
    default: bool = True
    trained: bool = True
    routed: bool = True
    baseline: Optional[str] = None


def load_study_rows(metafile: str) -> Tuple[StudyRow, ...]:
    """The study's rows: ``degraded_input``, then each model of
    ``metafile`` that has a ``Study`` entry, in the file's order.

    A routed row without ``Baseline`` is measured against the first
    trained row that does not route.

    Args:
        metafile (str): The OpenMIM metafile.

    Returns:
        tuple[StudyRow]: The rows.

    Raises:
        StudyError: A ``Study`` entry without ``Row`` or ``Label``, two rows
            of one name, no ``sler_ir`` row, or a ``Baseline`` that is no
            row without routing.
    """
    try:
        with open(metafile, encoding='utf-8') as f:
            models = (yaml.safe_load(f) or {}).get('Models') or []
    except OSError as err:
        raise StudyError(f'cannot read the metafile {metafile}: {err}')
    rows: List[StudyRow] = []
    for model in models:
        study = model.get('Study')
        if not study:
            continue
        try:
            rows.append(
                StudyRow(
                    name=str(study['Row']),
                    label=str(study['Label']),
                    config=model['Config'],
                    paper=str(study.get('Table', '-')),
                    default=bool(study.get('Default', True)),
                    routed=bool(study.get('Routed', True)),
                    baseline=study.get('Baseline')))
        except KeyError as err:
            raise StudyError(f'{metafile}: the Study entry of '
                             f'{model.get("Name")!r} has no {err}') from None
    names = [r.name for r in rows]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice or DATA_ROW not in names or DEGRADED_INPUT in names:
        raise StudyError(f'{metafile}: the Study rows must have distinct '
                         f'names, include {DATA_ROW!r} and not '
                         f'{DEGRADED_INPUT!r}; they are {names}')
    plain = [r.name for r in rows if not r.routed]
    for i, row in enumerate(rows):
        if row.baseline is not None and row.baseline not in plain:
            raise StudyError(
                f'{metafile}: the Baseline of row {row.name!r} must be a '
                f'row with Routed: false ({plain}), got {row.baseline!r}')
        if row.routed and row.baseline is None and plain:
            rows[i] = row._replace(baseline=plain[0])
    data = rows[names.index(DATA_ROW)].config
    reference = StudyRow(
        DEGRADED_INPUT,
        'Degraded input',
        data,
        '-',
        trained=False,
        routed=False)
    return (reference, ) + tuple(rows)


def select_rows(rows: Sequence[StudyRow],
                names: Optional[Sequence[str]] = None) -> List[StudyRow]:
    """The rows named, in the order given; the default rows for None;
    every row for ``['all']``.

    Args:
        rows (Sequence[StudyRow]): Every row.
        names (Sequence[str], optional): Row names, or ``['all']``.

    Raises:
        StudyError: An unknown row or one named twice.
    """
    by_name = {r.name: r for r in rows}
    if names is None:
        return [r for r in rows if r.default]
    if list(names) == ['all']:
        return list(rows)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise StudyError(f'unknown row(s) {unknown}; choose from '
                         f'{list(by_name)} or "all"')
    if len(set(names)) != len(names):
        raise StudyError(f'a row is named twice: {list(names)}')
    return [by_name[n] for n in names]
