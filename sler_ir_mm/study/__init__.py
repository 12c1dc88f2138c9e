"""The equal-budget study (``tools/analysis_tools/run_study.py``): its rows,
their runs, resumption, the results read from the files the tools write,
and the summary over seeds.

Not imported by ``sler_ir_mm`` itself (it registers nothing); the tools
import it.
"""
from .budget import BUDGET_KEYS, budget_changes, flatten_options, row_budget
from .checkpoints import final_checkpoint, last_checkpoint
from .commands import (ROUTE_STATS, TEST, TRAIN, format_command,
                       route_stats_command, evaluation_command, train_command)
from .errors import StudyBudgetError, StudyError
from .logged_command import progress_line, run_logged
from .resume import RowPlan, plan_row
from .route_summary import condense_route_stats, read_route_stats
from .rows import (DATA_ROW, DEGRADED_INPUT, StudyRow, load_study_rows,
                   select_rows)
from .runner import StudyRunner
from .seed_summary import (GOALS, paired_difference, stat, summarize_row,
                           summarize_seeds)
from .summary_files import (collect_records, read_record, seed_dir, write_json,
                            write_summary)
from .summary_markdown import (format_stat, format_summary_markdown,
                               markdown_table)
from .evaluation_results import (condense_results, find_test_results,
                                 read_test_results)
from .train_scalars import read_train_scalars, summarize_train_scalars

__all__ = [
    'BUDGET_KEYS', 'budget_changes', 'flatten_options', 'row_budget',
    'final_checkpoint', 'last_checkpoint', 'ROUTE_STATS', 'TEST', 'TRAIN',
    'format_command', 'route_stats_command', 'evaluation_command',
    'train_command', 'StudyBudgetError', 'StudyError', 'progress_line',
    'run_logged', 'RowPlan', 'plan_row', 'condense_route_stats',
    'read_route_stats', 'DATA_ROW', 'DEGRADED_INPUT', 'StudyRow',
    'load_study_rows', 'select_rows', 'StudyRunner', 'GOALS',
    'paired_difference', 'stat', 'summarize_row', 'summarize_seeds',
    'collect_records', 'read_record', 'seed_dir', 'write_json',
    'write_summary', 'format_stat', 'format_summary_markdown',
    'markdown_table', 'condense_results', 'find_test_results',
    'read_test_results', 'read_train_scalars', 'summarize_train_scalars'
]
