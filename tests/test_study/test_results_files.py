"""Reading a row's results from the files the tools write: tools/test.py's
results.json, route_stats.py's route_stats.json and MMEngine's
scalars.json (fixtures in fixtures/)."""
import json
import os
import os.path as osp
import shutil

import pytest

from sler_ir_mm.study import (StudyError, read_route_stats, read_test_results,
                              read_train_scalars, summarize_train_scalars)

FIXTURES = osp.join(osp.dirname(__file__), 'fixtures')


def test_test_results_singles_and_composites(tmp_path):
    test_dir = tmp_path / 'test'
    # An earlier run that stopped (no results.json), the finished one and
    # an older finished one: the newest with results.json is read.
    os.makedirs(test_dir / '20260101_000000')
    os.makedirs(test_dir / '20260102_000000')
    shutil.copy(
        osp.join(FIXTURES, 'results.json'), test_dir / '20260102_000000')
    os.makedirs(test_dir / '20250101_000000')
    (test_dir / '20250101_000000' / 'results.json').write_text(
        json.dumps(dict(sets={'Old': dict(PSNR=1.0)})))
    results = read_test_results(str(test_dir))
    assert results['path'].endswith('20260102_000000/results.json')
    assert list(results['sets']) == ['Noise-s25', 'Rain', 'Rain+Noise']
    rain = results['sets']['Rain']
    assert (rain['PSNR'], rain['HarmRate'], rain['WorstLoss'],
            rain['InputPSNR'], rain['N']) == (22.0, 0.25, 0.8, 18.0, 4.0)
    averages = results['averages']
    assert averages['single']['PSNR'] == pytest.approx(25.0)
    assert averages['single']['HarmRate'] == pytest.approx(0.125)
    assert averages['composite']['PSNR'] == pytest.approx(19.0)
    assert averages['all']['WorstLoss'] == pytest.approx(2.5)


def test_test_results_missing_or_bad(tmp_path):
    with pytest.raises(StudyError, match='no results.json'):
        read_test_results(str(tmp_path))
    os.makedirs(tmp_path / 't')
    (tmp_path / 't' / 'results.json').write_text('{"metrics": {}}')
    with pytest.raises(StudyError, match='no per-set scores'):
        read_test_results(str(tmp_path))


def test_route_stats_with_composites():
    routes = read_route_stats(osp.join(FIXTURES, 'route_stats.json'))
    assert routes['sets']['Noise-s25'] == dict(
        purity=1.0,
        main_path=[0, 0, 0, 0, 1, 1, 1, 1],
        num_paths=1,
        num_images=4)
    assert routes['sets']['Rain']['purity'] == 0.75
    # Two single sets on two distinct main paths.
    assert (routes['single_task_paths'], routes['num_single_sets']) == (2, 2)
    assert routes['splits']['test']['num_tasks'] == 3
    assert routes['splits']['train']['main_paths']['derain'] == [
        2, 2, 2, 2, 0, 0, 0, 1
    ]
    # Training patches of derain take another main path than its test set.
    assert routes['same_path'] == dict(single=[1, 2])
    assert routes['center_angle_min'] == pytest.approx(90.0)
    # The mix, by its set name, with its hybrid-path statistics.
    mix = routes['composites']['Rain+Noise']
    assert mix['task'] == 'derain+denoise'
    assert mix['components'] == ['derain', 'denoise']
    assert mix['can_show'] is True and mix['differing_layers'] == 8
    assert (mix['num_hybrid'], mix['hybrid_share']) == (2, 0.5)
    assert 'exclusive_layers' not in mix  # per image: not kept
    assert routes['composites_skipped'] == {}


def test_route_stats_missing_or_bad(tmp_path):
    with pytest.raises(StudyError, match='cannot read'):
        read_route_stats(str(tmp_path / 'route_stats.json'))
    (tmp_path / 'bad.json').write_text('{"sets": {"a": {"purity": 1}}}')
    with pytest.raises(StudyError, match='not a route_stats.json'):
        read_route_stats(str(tmp_path / 'bad.json'))


def write_scalars(folder, lines):
    os.makedirs(folder / 'vis_data')
    with open(folder / 'vis_data' / 'scalars.json', 'w') as f:
        f.writelines(json.dumps(line) + '\n' for line in lines)


def train_line(epoch, it, loss, hc_zero):
    return dict(
        lr=1e-3,
        loss=loss,
        hc_zero=hc_zero,
        router_min_center_angle=100.0 + it,
        epoch=epoch,
        iter=it,
        step=it)


def test_train_scalars_of_a_resumed_run(tmp_path):
    # The first run logs epochs 1-2 and validates; it stops in epoch 3;
    # the resumed run logs epoch 3 again (from its checkpoint) and 4.
    write_scalars(tmp_path / '20260101_000000', [
        train_line(1, 2, 0.5, 1.0),
        train_line(1, 4, 0.4, 0.0),
        train_line(2, 6, 0.3, 0.0),
        train_line(2, 8, 0.3, 0.0),
        {
            'Noise/PSNR': 20.0,
            'Rain+Noise/PSNR': 10.0,
            'step': 2
        },
        {
            'route/nmi': 0.5,
            'route/task_paths': 2,
            'step': 8
        },
        train_line(3, 10, 9.9, 1.0),
    ])
    write_scalars(tmp_path / '20260102_000000', [
        train_line(3, 10, 0.2, 1.0),
        train_line(3, 12, 0.2, 1.0),
        train_line(4, 14, 0.1, 1.0),
        train_line(4, 16, 0.3, 1.0),
        {
            'Noise/PSNR': 24.0,
            'Rain/PSNR': 22.0,
            'Rain+Noise/PSNR': 12.0,
            'step': 4
        },
    ])
    scalars = read_train_scalars(str(tmp_path))
    assert [e['iter']
            for e in scalars['train']] == [2, 4, 6, 8, 10, 12, 14, 16]
    # The resumed run's line replaces the stopped run's.
    assert scalars['train'][4]['loss'] == 0.2
    # Validation (step = epoch) and training (step = iteration) apart.
    assert [e['step'] for e in scalars['val']] == [2, 4]
    summary = summarize_train_scalars(scalars, stage1_epochs=2)
    assert summary['iters'] == 16 and summary['epochs'] == 4
    assert summary['final_loss'] == pytest.approx(0.2)
    assert summary['stage1_hc_zero_share'] == pytest.approx(0.25)
    assert summary['router'] == dict(router_min_center_angle=116.0)
    assert summary['val'] == dict(
        step=4,
        psnr={
            'Noise': 24.0,
            'Rain': 22.0,
            'Rain+Noise': 12.0
        },
        average_psnr=23.0)
    assert summary['route_probe'] == {'nmi': 0.5, 'task_paths': 2}


def test_train_scalars_missing_or_bad(tmp_path):
    with pytest.raises(StudyError, match='no training scalars'):
        read_train_scalars(str(tmp_path))
    os.makedirs(tmp_path / 't' / 'vis_data')
    (tmp_path / 't' / 'vis_data' / 'scalars.json').write_text('{"a": 1}\nx\n')
    with pytest.raises(StudyError, match='line 2: not JSON'):
        read_train_scalars(str(tmp_path))
