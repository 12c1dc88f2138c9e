"""sler_ir_mm.study.resume: what a study does with a row, given what an
earlier study left."""
import pytest

from sler_ir_mm.study import RowPlan, StudyBudgetError, plan_row

BUDGET = dict(
    stage1_epochs=2,
    stage2_epochs=3,
    stage1_batch_size=8,
    stage2_batch_size=16,
    seed=0,
    cfg_options=[])


def record(status='running', **budget):
    return dict(name='sler_ir', status=status, budget=dict(BUDGET, **budget))


def test_a_new_row_trains_from_the_start():
    assert plan_row(None, BUDGET) == RowPlan(False, 'fresh', reason='training')


def test_a_finished_row_is_reused():
    plan = plan_row(
        record('done'),
        BUDGET,
        last_checkpoint='w/epoch_5.pth',
        final_checkpoint='w/epoch_5.pth')
    assert plan.reuse and plan.train == 'skip'


def test_a_stopped_training_resumes_from_its_last_checkpoint():
    plan = plan_row(record(), BUDGET, last_checkpoint='w/epoch_3.pth')
    assert plan == RowPlan(
        False,
        'resume',
        'w/epoch_3.pth',
        reason='stopped earlier: resuming from '
        'w/epoch_3.pth')


def test_a_trained_row_whose_test_stopped_is_tested():
    plan = plan_row(
        record('failed: test (exit 1), see log'),
        BUDGET,
        last_checkpoint='w/epoch_5.pth',
        final_checkpoint='w/epoch_5.pth')
    assert not plan.reuse and plan.train == 'skip'


def test_a_row_without_training_is_only_tested():
    assert plan_row(record(), BUDGET, trained=False).train == 'skip'
    assert plan_row(record('done'), BUDGET, trained=False).reuse


def test_another_budget_is_refused_naming_what_changed():
    with pytest.raises(
            StudyBudgetError, match=r'stage2_epochs: 4 -> 3, seed: 1 -> 0'):
        plan_row(record('done', stage2_epochs=4, seed=1), BUDGET)
    # Checkpoints without a record: budget unknown.
    with pytest.raises(StudyBudgetError, match='no row.json'):
        plan_row(None, BUDGET, last_checkpoint='w/epoch_1.pth')


def test_rerun_sets_the_old_work_dir_aside():
    for earlier in (record('done', seed=1), record()):
        plan = plan_row(
            earlier, BUDGET, last_checkpoint='w/epoch_5.pth', rerun=True)
        assert plan.set_aside and plan.train == 'fresh' and not plan.reuse
    assert not plan_row(None, BUDGET, rerun=True).set_aside
