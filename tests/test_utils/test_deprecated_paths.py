"""The import paths that moved out of ``sler_ir_mm.utils`` keep working for
one release, with a DeprecationWarning, and give the same objects."""
import importlib
import sys

import pytest

MOVED_MODULES = {
    'route_stats': 'sler_ir_mm.evaluation.route_stats',
    'results_table': 'sler_ir_mm.evaluation.results_table',
    'param_count': 'sler_ir_mm.evaluation.param_count',
    'dataset_check': 'sler_ir_mm.datasets.dataset_check',
    'data_root': 'sler_ir_mm.datasets.data_root',
    'checkpoint_check': 'sler_ir_mm.engine.checkpoint_check',
    'dist_backend': 'sler_ir_mm.engine.dist_backend',
}


@pytest.mark.parametrize('old,new', sorted(MOVED_MODULES.items()))
def test_old_module_path_is_the_new_module(old, new):
    old_name = f'sler_ir_mm.utils.{old}'
    sys.modules.pop(old_name, None)
    with pytest.warns(DeprecationWarning, match=new.replace('.', r'\.')):
        module = importlib.import_module(old_name)
    assert module is importlib.import_module(new)


@pytest.mark.parametrize('name', [
    'CheckpointMismatchError', 'UnreadableCheckpointError',
    'check_checkpoint_matches', 'checkpoint_to_load', 'resume_hint',
    'set_data_root', 'prepare_cpu_distributed', 'ParameterCount',
    'count_parameters', 'format_results_table', 'summarize_metrics'
])
def test_old_names_warn_and_resolve(name):
    import sler_ir_mm.utils as utils
    with pytest.warns(DeprecationWarning, match=name):
        old = getattr(utils, name)
    new_owner = utils._MOVED[name]
    assert old is getattr(importlib.import_module(new_owner), name)


def test_argument_checks_stay_without_warning(recwarn):
    from sler_ir_mm.utils import check_float_range, check_int
    check_int('n', 3)
    check_float_range('p', 0.5, 0.0, 1.0)
    assert not [w for w in recwarn if w.category is DeprecationWarning]


def test_unknown_name_is_an_attribute_error():
    import sler_ir_mm.utils as utils
    with pytest.raises(AttributeError, match='no_such_name'):
        utils.no_such_name
