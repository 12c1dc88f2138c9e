"""Hybrid-path statistics of composite degradations, on hand-made routes."""
import json

import numpy as np
import pytest

from sler_ir_mm.evaluation.composite_routes import (
    can_show_hybrid, composite_components, composite_figure_name,
    composite_route_stats, format_composite_routes, layer_mode_path,
    mix_follow_stats, plot_composite_routes)

A = [0] * 8
B = [1] * 8
C = [2] * 8


def stats_of(groups, num_experts=3, **kwargs):
    """composite_route_stats of {task: list of routes}."""
    routes, tasks = [], []
    for task, rows in groups.items():
        routes += rows
        tasks += [task] * len(rows)
    return composite_route_stats(np.array(routes), tasks, num_experts,
                                 **kwargs)


def test_components_and_layer_mode():
    assert composite_components('derain+dehaze+lowlight') == [
        'derain', 'dehaze', 'lowlight']
    assert composite_components('denoise') == ['denoise']
    for bad in ('a++b', 'a+a', '+a', ''):
        with pytest.raises(ValueError, match='task_name'):
            composite_components(bad)
    # Per layer, not per route: the most common route is 0-1 (ties: path
    # order), the most common expert of each layer 1 and 1.
    path, shares = layer_mode_path([[0, 1], [1, 0], [1, 1]])
    assert path == [1, 1] and shares == pytest.approx([2 / 3, 2 / 3])
    assert layer_mode_path([[0, 2], [1, 2]])[0] == [0, 2]  # tie: lower


def test_clear_hybrid():
    mix = [[0, 0, 0, 0, 1, 1, 1, 1]] * 3 + [[0, 0, 0, 1, 1, 1, 1, 2]]
    s = stats_of({'a': [A] * 3 + [[0] * 7 + [2]], 'b': [B] * 4,
                  'a+b': mix})
    assert s['references']['a']['layer_path'] == A
    assert s['references']['a']['purity'] == 0.75
    m = s['mixes']['a+b']
    assert m['components'] == ['a', 'b'] and m['paths'] == dict(a=A, b=B)
    assert m['differing_layers'] == 8 and m['can_show']
    assert m['num_hybrid'] == 4 and m['hybrid_share'] == 1.0
    assert m['exclusive_layers'] == [[4, 4]] * 3 + [[3, 4]]
    assert m['mean_exclusive_layers'] == dict(a=3.75, b=4.0)
    assert m['dominant'] == 'b'
    only = m['layer_follow']['only']
    assert only['a'] == [1, 1, 1, .75, 0, 0, 0, 0]
    assert only['b'] == [0, 0, 0, .25, 1, 1, 1, .75]
    assert m['layer_follow']['none'] == [0] * 7 + [.25]
    assert m['layer_follow']['shared'] == [0] * 8
    assert m['on_path'] == dict(a=0.0, b=0.0)
    assert np.asarray(m['expert_usage']).shape == (8, 3)
    assert 'other_reference' not in m  # main path == per-layer experts
    json.dumps(s)  # plain numbers only


def test_one_component_dominates():
    # A's path with one layer flipped to B: within route noise.
    mix = [A] * 2 + [[0] * 7 + [1]] * 2
    m = stats_of({'a': [A], 'b': [B], 'a+b': mix})['mixes']['a+b']
    assert m['can_show'] and m['hybrid_share'] == 0.0
    assert m['exclusive_layers'] == [[8, 0]] * 2 + [[7, 1]] * 2
    assert m['exclusive_share'] == dict(a=1.0, b=0.0)
    assert m['dominant'] == 'a' and m['on_path'] == dict(a=0.5, b=0.0)


def test_three_way_mix():
    # a and b agree at layer 1; c is alone everywhere.
    a = [0, 0, 0, 0, 0, 0, 0, 0]
    b = [0, 1, 1, 1, 1, 1, 1, 1]
    mix = [
        [0, 0, 0, 1, 1, 2, 2, 2],  # a 2 (L2-3), b 2, c 3: hybrid
        [0, 0, 0, 0, 0, 0, 1, 2],  # a 5, b 1, c 1: not
        [2, 2, 2, 2, 2, 2, 1, 1],  # c 6, b 2: hybrid
    ]
    s = stats_of({'a': [a], 'b': [b], 'c': [C], 'a+b+c': mix})
    m = s['mixes']['a+b+c']
    assert m['components'] == ['a', 'b', 'c']
    assert m['own_layers'] == dict(a=7, b=7, c=8)
    assert m['differing_layers'] == 8 and m['can_show']
    assert m['exclusive_layers'] == [[2, 2, 3], [5, 1, 1], [0, 2, 6]]
    assert m['num_hybrid'] == 2 and m['hybrid_share'] == pytest.approx(2 / 3)
    # Layer 1: a and b agree (expert 0): "more than one".
    assert m['layer_follow']['shared'][0] == pytest.approx(2 / 3)
    assert m['layer_follow']['only']['a'][0] == 0.0
    assert m['layer_follow']['only']['c'][0] == pytest.approx(1 / 3)
    assert m['layer_follow']['none'] == [0.0] * 8
    text = format_composite_routes(s)
    assert '| a+b+c | 8 (own 7/7/8) | 67% (2 of 3) |' in text
    assert '| more than one | 67 | 0 |' in text
    assert '| none | 0 |' in text


def test_components_that_agree_cannot_show():
    # The paths differ in 3 layers (agree in 5): no image can have two
    # exclusive layers of each.
    b = [0, 0, 0, 0, 0, 1, 1, 1]
    mix = [[0, 0, 0, 0, 0, 0, 1, 1], b]
    s = stats_of({'a': [A], 'b': [b], 'a+b': mix})
    m = s['mixes']['a+b']
    assert not m['can_show'] and m['differing_layers'] == 3
    assert m['hybrid_share'] == 0.0
    assert m['exclusive_layers'] == [[1, 2], [0, 3]]
    assert not can_show_hybrid(dict(a=A, b=b))
    assert can_show_hybrid(dict(a=A, b=[0, 0, 0, 0, 1, 1, 1, 1]))
    # Three components: c has its own layers, but a and b none apart.
    assert not can_show_hybrid(dict(a=A, b=A, c=C))
    # Own layers of a and c overlap: 2 + 2 on 3 layers is not enough.
    assert not can_show_hybrid(
        dict(a=[0, 0, 0, 0], b=[1, 1, 1, 0], c=[2, 2, 2, 0]))
    text = format_composite_routes(s)
    assert 'Mixes that cannot show a hybrid route' in text
    assert '| a+b | 3 | a 0.5, b 2.5 | b | a 0%, b 50% |' in text


def test_missing_component_is_skipped():
    s = stats_of({'a': [A], 'a+z': [A], 'a++b': [A]})
    assert s['mixes'] == {}
    assert s['skipped']['a+z']['missing'] == ['z']
    assert 'no single-task images of z' in s['skipped']['a+z']['reason']
    assert 'distinct' in s['skipped']['a++b']['reason']
    text = format_composite_routes(s, dict(a='A-set'))
    assert '- a+z: skipped, no single-task images of z (single tasks ' \
        'routed: a)' in text
    # No composite task: nothing to report.
    assert format_composite_routes(stats_of({'a': [A], 'b': [B]})) == ''


def test_main_path_reference_and_format(tmp_path):
    # a's most common route (0-0-0-0, 2 images) is not its most common
    # expert per layer (1-1-1-1: 3 images of 6 at every layer).
    a_routes = [[0, 0, 0, 0]] * 2 + [[1, 1, 1, 2], [1, 1, 2, 1],
                                     [2, 1, 1, 1]]
    a_routes += [[1, 2, 1, 1]]
    b = [2, 2, 0, 0]
    mix = [[1, 1, 0, 0], [0, 0, 0, 0]]
    s = stats_of({'a': a_routes, 'b': [b], 'a+b': mix})
    ref = s['references']['a']
    assert ref['layer_path'] == [1, 1, 1, 1] and ref['main_path'] == [0] * 4
    m = s['mixes']['a+b']
    assert m['paths']['a'] == [1, 1, 1, 1] and m['hybrid_share'] == 0.5
    alt = m['other_reference']
    assert alt['reference'] == 'main_path' and not alt['can_show']
    assert alt['differing_layers'] == 2
    by_main = stats_of({'a': a_routes, 'b': [b], 'a+b': mix},
                       reference='main_path')
    assert by_main['mixes']['a+b']['paths']['a'] == [0, 0, 0, 0]
    text = format_composite_routes(s, dict(a='SetA', b='SetB'))
    assert '| SetA | 6 | 1-1-1-1 (0.50) | 0-0-0-0 (0.33) |' in text
    assert '| a+b | 4 | 50% (1 of 2) | cannot show (2 differ) | SetA 1.0, ' \
        'SetB 2.0 | SetB | SetA 0%, SetB 0% |' in text
    assert '| SetA only (1-1-1-1) | 50 | 50 | 0 | 0 |' in text
    assert '| both | 0 | 0 | 0 | 0 |' in text
    assert '| neither | 50 | 50 | 0 | 0 |' in text
    name = composite_figure_name('a+b c/d')
    assert name == 'route_composite_a+b_c_d.png'
    out = plot_composite_routes(m, str(tmp_path / name), names=dict(a='A'))
    with open(out, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_bad_arguments():
    with pytest.raises(ValueError, match='reference'):
        stats_of({'a': [A]}, reference='mean')
    with pytest.raises(ValueError, match='tasks'):
        composite_route_stats(np.array([A]), ['a', 'b'], 3)
    with pytest.raises(ValueError, match='at least two'):
        mix_follow_stats([A], dict(a=A))
    with pytest.raises(ValueError, match=r'one per routed layer \(8\)'):
        mix_follow_stats([A], dict(a=A, b=[1, 1]))
    with pytest.raises(ValueError, match='min_exclusive'):
        mix_follow_stats([A], dict(a=A, b=B), min_exclusive=0)
