"""The study's files: the rows' records in the work dir, the summaries in
the results folder."""
import json
import os
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence

from .rows import StudyRow
from .seed_summary import summarize_seeds
from .summary_markdown import format_summary_markdown

__all__ = [
    'RECORD', 'seed_dir', 'read_record', 'write_json', 'collect_records',
    'write_summary'
]

#: A row's record in its work dir.
RECORD = 'row.json'


def seed_dir(work_dir: str, seed: int) -> str:
    """The folder of one seed's rows: ``<work_dir>/seed<S>``."""
    return osp.join(work_dir, f'seed{seed}')


def read_record(row_dir: str) -> Optional[dict]:
    """A row's ``row.json``, or None."""
    path = osp.join(row_dir, RECORD)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def write_json(path: str, data: Mapping) -> None:
    """Write ``data`` to ``path`` at once (a stopped study never leaves
    half a file)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2)
        f.write('\n')
    os.replace(path + '.tmp', path)


def collect_records(work_dir: str,
                    rows: Sequence[StudyRow]) -> Dict[str, Dict[int, dict]]:
    """The finished records of every ``seed<S>`` folder of ``work_dir``.

    Args:
        work_dir (str): The study's work dir.
        rows (Sequence[StudyRow]): The rows to look for.

    Returns:
        dict: row name -> seed -> record (``status`` ``'done'`` only).
    """
    found: Dict[str, Dict[int, dict]] = {}
    if not osp.isdir(work_dir):
        return found
    for entry in sorted(os.listdir(work_dir)):
        if not (entry.startswith('seed') and entry[4:].isdigit()):
            continue
        for row in rows:
            record = read_record(osp.join(work_dir, entry, row.name))
            if record is not None and record.get('status') == 'done':
                found.setdefault(row.name, {})[int(entry[4:])] = record
    return found


def write_summary(out_dir: str,
                  rows: Sequence[StudyRow],
                  records: Mapping[str, Mapping[int, Mapping]],
                  info: Optional[Mapping] = None,
                  name: str = 'summary',
                  title: str = 'Equal-budget study') -> dict:
    """Write ``<name>.json`` and ``<name>.md`` of the records to
    ``out_dir``.

    Args:
        out_dir (str): The results folder.
        rows (Sequence[StudyRow]): The study's rows.
        records (Mapping): Row name -> seed -> finished record.
        info (Mapping, optional): See
            :func:`~sler_ir_mm.study.seed_summary.summarize_seeds`.
        name (str): File name without extension. Default: ``'summary'``.
        title (str): The Markdown page's title (kept in the summary).

    Returns:
        dict: The summary.
    """
    summary = summarize_seeds(rows, records, dict(info or {}, title=title))
    write_json(osp.join(out_dir, f'{name}.json'), summary)
    with open(osp.join(out_dir, f'{name}.md'), 'w', encoding='utf-8') as f:
        f.write(format_summary_markdown(summary))
    return summary
