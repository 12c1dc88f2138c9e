"""fill_dims: the one place config sizes are filled in and checked."""
import pytest

from sler_ir_mm.models.restorers.config_dims import Dim, fill_dims


def test_fills_missing_keeps_matching_and_leaves_the_input():
    cfg = dict(type='X', b=2)
    filled = fill_dims(cfg, 'part', [('a', 1, 'the a'), ('b', 2, 'the b'),
                                     ('c', (4, 5), 'the c')])
    assert filled == dict(type='X', a=1, b=2, c=(4, 5))
    assert cfg == dict(type='X', b=2)
    # A config's list equals the component's tuple.
    assert fill_dims(dict(c=[4, 5]), 'part', [('c', (4, 5), 'the c')]) == \
        dict(c=[4, 5])


def test_a_mismatch_names_the_key_the_source_and_the_fix():
    with pytest.raises(ValueError) as err:
        fill_dims(dict(c=[4]), 'glgf', [('c', (4, 5), "the backbone's c")])
    assert str(err.value) == (
        "model.glgf.c=(4,) does not match the backbone's c, (4, 5): leave "
        'glgf.c out of the config (it is filled in from there)')
    with pytest.raises(ValueError) as err:
        fill_dims(dict(n=4), 'router', [
            Dim('n', 3, 'the n', '; or set other.n={given}')])
    assert str(err.value).endswith(
        'leave router.n out of the config (it is filled in from there); or '
        'set other.n=4')
