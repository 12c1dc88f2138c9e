"""sler_ir_mm.study.seed_summary and summary_markdown: the study over
seeds, and the answers to the composite study's questions."""
import copy
import json
import os.path as osp

import pytest

from sler_ir_mm.study import (GOALS, StudyRow, condense_results,
                              condense_route_stats, format_summary_markdown,
                              paired_difference, stat, summarize_seeds)

FIXTURES = osp.join(osp.dirname(__file__), 'fixtures')
ROWS = (
    StudyRow(
        'degraded_input',
        'Degraded input',
        'c.py',
        trained=False,
        routed=False),
    StudyRow('restormer', 'Restormer', 'r.py', routed=False),
    StudyRow('sler_ir', 'SLER-IR', 's.py', baseline='restormer'),
    StudyRow('classifier', 'Classifier', 'k.py', baseline='restormer'),
)


def load(name):
    with open(osp.join(FIXTURES, name)) as f:
        return json.load(f)


def record(name, seed, shift=0.0, harm=None, hybrid=None, routes=True):
    """A finished record: the fixture results with every PSNR shifted."""
    results = load('results.json')
    for values in results['sets'].values():
        values['PSNR'] += shift
        if harm is not None:
            values['HarmRate'] = harm
    out = dict(
        name=name,
        seed=seed,
        status='done',
        budget=dict(stage1_epochs=2, stage2_epochs=3, seed=seed),
        test=condense_results(results),
        wall_s=dict(train=60.0),
        train=dict(
            final_loss=0.1, router=dict(router_min_center_angle=100.0 + seed)),
        params=dict(total=1_740_000, active=990_000),
        commands=[f'python tools/train.py {name} {seed}'])
    if routes:
        out['routes'] = condense_route_stats(load('route_stats.json'))
        if hybrid is not None:
            out['routes']['composites']['Rain+Noise']['hybrid_share'] = \
                hybrid
    return out


def records():
    return {
        'degraded_input': {
            0: record('degraded_input', 0, routes=False)
        },
        'restormer': {
            s: record('restormer', s, shift=-1.0 + s, harm=0.0, routes=False)
            for s in (0, 1, 2)
        },
        'sler_ir': {
            s: record('sler_ir', s, shift=0.5 * s, hybrid=0.25 * (s + 1))
            for s in (0, 1, 2)
        },
        'classifier': {
            s: record('classifier', s, shift=1.0)
            for s in (0, 2)
        },
    }


def test_stat_and_paired_difference():
    assert stat([1.0, None, float('nan'), 3.0]) == dict(
        mean=2.0,
        sd=pytest.approx(2**0.5),
        min=1.0,
        max=3.0,
        n=2,
        values=[1.0, 3.0])
    assert stat([5])['sd'] is None and stat([None]) is None
    diff = paired_difference({0: 3.0, 1: 5.0, 2: 1.0}, {0: 1.0, 1: 1.0})
    assert (diff['mean'], diff['seeds'], diff['positive']) == (3.0, [0, 1], 2)
    assert paired_difference({0: 1.0}, {1: 1.0}) is None


def test_rows_over_seeds():
    summary = summarize_seeds(ROWS, records(), dict(dataset='mini v2'))
    assert summary['dataset'] == 'mini v2' and summary['goals'] == GOALS
    assert summary['seeds'] == [0, 1, 2]
    rows = {r['name']: r for r in summary['rows']}
    assert list(rows) == [
        'degraded_input', 'restormer', 'sler_ir', 'classifier'
    ]
    sler = rows['sler_ir']
    assert sler['seeds'] == [0, 1, 2] and sler['baseline'] == 'restormer'
    # Per set: mean and spread over seeds; singles and mixes told apart.
    rain = sler['sets']['Rain']
    assert rain['PSNR']['values'] == [22.0, 22.5, 23.0]
    assert rain['PSNR']['sd'] == pytest.approx(0.5)
    assert not rain['composite'] and sler['sets']['Rain+Noise']['composite']
    assert rain['HarmRate']['mean'] == 0.25
    assert sler['averages']['single']['PSNR']['mean'] == pytest.approx(25.5)
    assert sler['averages']['composite']['PSNR']['mean'] == \
        pytest.approx(19.5)
    assert sler['train']['wall_s']['mean'] == 60.0
    assert sler['train']['router']['router_min_center_angle']['values'] == [
        100.0, 101.0, 102.0
    ]
    assert sler['budget'] == dict(stage1_epochs=2, stage2_epochs=3)
    # Margins over the baseline: paired per seed (1.0, 0.5, 0.0 dB).
    margins = sler['margins']
    assert margins['baseline'] == 'restormer'
    assert margins['single']['values'] == pytest.approx([1.0, 0.5, 0.0])
    assert margins['composite']['mean'] == pytest.approx(0.5)
    assert margins['sets']['Rain+Noise']['positive'] == 2
    # Routes over seeds, with the mixes' hybrid shares.
    routes = sler['routes']
    assert routes['single_task_paths'] == [2, 2, 2]
    assert routes['sets']['Rain']['purity']['mean'] == 0.75
    assert routes['same_path'] == dict(single=[[1, 2]] * 3)
    mix = routes['composites']['Rain+Noise']
    assert mix['can_show'] == [True] * 3
    assert mix['hybrid_share']['mean'] == pytest.approx(0.5)
    assert 'routes' not in rows['restormer']
    # Classifier against SLER-IR on the seeds both have (0 and 2).
    comparison, = summary['comparisons']
    assert (comparison['row'], comparison['other']) == ('sler_ir',
                                                        'classifier')
    assert comparison['single']['values'] == pytest.approx([-1.0, 0.0])


def test_checks_answer_the_composite_study_s_questions():
    found = records()
    summary = summarize_seeds(ROWS, found)
    checks = {r['name']: r.get('checks') for r in summary['rows']}
    assert checks['restormer'] is None
    c = checks['sler_ir']
    assert c['margin_single'] == pytest.approx(0.5)
    assert c['margin_composite'] == pytest.approx(0.5)
    assert c['composite_margin_at_least_single'] is True
    # Rain harms a quarter of its images; the PSNR spread of 0.5 dB is at
    # the goal's limit; Rain's purity 0.75 is below 0.9.
    assert c['harmful_single_sets'] == ['Rain']
    assert c['wide_single_sets'] == ['Noise-s25', 'Rain']
    assert c['impure_single_sets'] == ['Rain']
    assert c['hybrid']['Rain+Noise'] == dict(
        can_show='3 of 3',
        hybrid_share=pytest.approx(0.5),
        margin=pytest.approx(0.5),
        met=True)
    # Fewer hybrid images: the goal is not met.
    for s in (0, 1, 2):
        found['sler_ir'][s]['routes']['composites']['Rain+Noise'][
            'hybrid_share'] = 0.2
    c = {
        r['name']: r.get('checks')
        for r in summarize_seeds(ROWS, found)['rows']
    }['sler_ir']
    assert c['hybrid']['Rain+Noise']['met'] is False


def test_markdown_summary():
    text = format_summary_markdown(
        summarize_seeds(ROWS, records(),
                        dict(dataset='mini v2', commands=['python x'])))
    for heading in ('## Scores', '## PSNR per set (dB)', '## SSIM per set',
                    '## Harm rate per set', '## Routes', '### Main paths',
                    '## Hybrid paths of the mixes', '## Routed rows compared',
                    '## Checks', '## Commands'):
        assert f'\n{heading}\n' in text, heading
    lines = text.splitlines()
    scores = lines[lines.index('## Scores') + 4:]
    assert scores[0].startswith('| Model | Seeds | Params total / per image '
                                '| PSNR singles | PSNR composites |')
    sler = next(line for line in scores if line.startswith('| SLER-IR |'))
    assert sler == ('| SLER-IR | 0, 1, 2 | 1.74M / 0.99M | 25.50 ± 0.50 | '
                    '19.50 ± 0.50 | 0.650 ± 0.000 | 0.500 ± 0.000 | +0.50 ± '
                    '0.50 | +0.50 ± 0.50 | 12.5 ± 0.0% | 50.0 ± 0.0% | '
                    '+2.50 | 1m00s |')
    assert '| SLER-IR | Rain+Noise | 3 of 3 | 8, 8, 8 | 0.50 ± 0.25 |' in text
    assert ('| SLER-IR - Classifier | -0.50 ± 0.71 (0 of 2 seeds above) |'
            in text)
    assert '| SLER-IR | +0.50 | +0.50 | yes | Rain |' in text
    assert 'python tools/train.py sler_ir 0' in text


def test_a_summary_without_composites_or_harm_rates():
    """The shape of the version-1 study: single sets, PSNR / SSIM only."""
    found = copy.deepcopy(records())
    for per_seed in found.values():
        for rec in per_seed.values():
            sets = {
                n: dict(PSNR=v['PSNR'], SSIM=v['SSIM'])
                for n, v in rec['test']['sets'].items() if '+' not in n
            }
            rec['test'] = condense_results(dict(sets=sets))
            if 'routes' in rec:
                rec['routes']['composites'] = {}
    summary = summarize_seeds(ROWS, found)
    text = format_summary_markdown(summary)
    assert 'composites' not in text.split('## PSNR per set')[0].split(
        '| Model |')[1]
    for heading in ('Harm rate', 'Hybrid paths'):
        assert heading not in text
    checks = {r['name']: r.get('checks') for r in summary['rows']}
    assert checks['sler_ir']['composite_margin_at_least_single'] is None
    assert checks['sler_ir']['harm_measured'] is False
