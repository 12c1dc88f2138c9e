"""What a study does with a row, given what an earlier study left in its
work dir: reuse it, finish it, resume its training, or start it."""
from typing import Mapping, NamedTuple, Optional

from .budget import budget_changes
from .errors import StudyBudgetError

__all__ = ['RowPlan', 'plan_row']


class RowPlan(NamedTuple):
    """The steps a row takes.

    Attributes:
        reuse (bool): The row is done with this budget: run nothing.
        train (str): ``'fresh'`` (train from the start), ``'resume'`` (from
            ``resume_from``) or ``'skip'`` (trained already, or the row
            needs no training).
        resume_from (str, optional): The checkpoint to resume from.
        set_aside (bool): Keep the old work dir under another name first
            (``--rerun``).
        reason (str): Why, as the study prints it.
    """
    reuse: bool
    train: str
    resume_from: Optional[str] = None
    set_aside: bool = False
    reason: str = ''


def plan_row(record: Optional[Mapping],
             budget: Mapping,
             trained: bool = True,
             last_checkpoint: Optional[str] = None,
             final_checkpoint: Optional[str] = None,
             rerun: bool = False) -> RowPlan:
    """Decide what to run for one row.

    Args:
        record (Mapping, optional): The row's ``row.json`` from an earlier
            study (written before its first step, updated after each), or
            None.
        budget (Mapping): The budget asked for now.
        trained (bool): Whether the row trains (False: degraded inputs).
        last_checkpoint (str, optional): The work dir's latest checkpoint.
        final_checkpoint (str, optional): The checkpoint of the last epoch,
            if training got there.
        rerun (bool): Train again even if the row is done (``--rerun``).

    Returns:
        RowPlan: The decision.

    Raises:
        StudyBudgetError: The row was run with another budget, or its
            checkpoints have no record, and ``rerun`` is False.
    """
    there = record is not None or last_checkpoint is not None
    if rerun:
        return RowPlan(
            False,
            'fresh' if trained else 'skip',
            set_aside=there,
            reason='--rerun: from the start')
    if record is None and last_checkpoint is not None:
        raise StudyBudgetError(
            f'{last_checkpoint} has no row.json beside it, so its budget is '
            'unknown; give another work dir, or --rerun to run the row '
            'again (its old work dir is kept)')
    if record is not None:
        changes = budget_changes(record.get('budget') or {}, budget)
        if changes:
            raise StudyBudgetError(
                f'row {record.get("name")!r} was run with another budget (' +
                ', '.join(changes) + '); give another work dir, or '
                '--rerun to run it again (its old work dir is kept)')
        if record.get('status') == 'done':
            return RowPlan(True, 'skip', reason='done earlier: reused')
    if not trained:
        return RowPlan(False, 'skip', reason='scores the degraded inputs')
    if final_checkpoint is not None:
        return RowPlan(
            False,
            'skip',
            reason=f'trained earlier '
            f'({final_checkpoint}): testing')
    if last_checkpoint is not None:
        return RowPlan(
            False,
            'resume',
            resume_from=last_checkpoint,
            reason=f'stopped earlier: resuming from '
            f'{last_checkpoint}')
    return RowPlan(False, 'fresh', reason='training')
