"""sler_ir_mm.study.rows: the study's rows from metafile.yml."""
import json
import os.path as osp

import pytest
import yaml

from sler_ir_mm.study import (StudyError, StudyRow, load_study_rows,
                              select_rows)


def metafile(tmp_path, *studies):
    path = tmp_path / 'metafile.yml'
    path.write_text(
        json.dumps(
            dict(Models=[
                dict(Name=f'm{i}', Config=f'c{i}.py', Study=study)
                for i, study in enumerate(studies)
            ] + [dict(Name='no_study', Config='x.py')])))
    return str(path)


def test_rows_in_file_order_after_the_degraded_input(tmp_path):
    rows = load_study_rows(
        metafile(tmp_path, dict(Row='plain', Label='P', Routed=False),
                 dict(Row='sler_ir', Label='S', Table='Table 2'),
                 dict(Row='plain2', Label='P2', Routed=False, Default=False),
                 dict(Row='x', Label='X', Default=False, Baseline='plain2')))
    assert rows == (
        StudyRow(
            'degraded_input',
            'Degraded input',
            'c1.py',
            '-',
            trained=False,
            routed=False),
        StudyRow('plain', 'P', 'c0.py', routed=False),
        # A routed row is measured against the first row without routing,
        # unless its Baseline says otherwise.
        StudyRow('sler_ir', 'S', 'c1.py', 'Table 2', baseline='plain'),
        StudyRow('plain2', 'P2', 'c2.py', default=False, routed=False),
        StudyRow('x', 'X', 'c3.py', default=False, baseline='plain2'))
    assert [r.name for r in select_rows(rows)
            ] == ['degraded_input', 'plain', 'sler_ir']
    assert select_rows(rows, ['all']) == list(rows)
    assert [r.name
            for r in select_rows(rows, ['x', 'plain'])] == ['x', 'plain']


@pytest.mark.parametrize('studies, message', [
    ([dict(Row='sler_ir', Label='S'),
      dict(Row='x')], "'m1' has no 'Label'"),
    ([dict(Row='sler_ir', Label='S'),
      dict(Row='sler_ir', Label='T')], 'distinct names'),
    ([dict(Row='x', Label='X')], "include 'sler_ir'"),
    ([dict(Row='sler_ir', Label='S', Baseline='nope')
      ], "Baseline of row 'sler_ir'"),
])
def test_bad_study_entries(tmp_path, studies, message):
    with pytest.raises(StudyError, match=message):
        load_study_rows(metafile(tmp_path, *studies))


@pytest.mark.parametrize('names, message', [(['nope'], 'unknown'),
                                            (['sler_ir', 'sler_ir'], 'twice')])
def test_bad_row_names(tmp_path, names, message):
    rows = load_study_rows(metafile(tmp_path, dict(Row='sler_ir', Label='S')))
    with pytest.raises(StudyError, match=message):
        select_rows(rows, names)


def test_the_repository_s_rows(repo_root):
    """Every Study entry of metafile.yml is a row with a shipped config; the
    singles + mixes rows are measured against Restormer trained the same
    way."""
    path = osp.join(repo_root, 'metafile.yml')
    rows = {r.name: r for r in load_study_rows(path)}
    with open(path) as f:
        studies = [m for m in yaml.safe_load(f)['Models'] if m.get('Study')]
    assert list(rows)[1:] == [m['Study']['Row'] for m in studies]
    for row in rows.values():
        assert osp.isfile(osp.join(repo_root, row.config)), row
    assert rows['sler_ir'].baseline == 'restormer'
    assert rows['classifier_l1_cls'].baseline == 'restormer'
    assert rows['sler_ir_cdd'].baseline == 'restormer_cdd'
    assert rows['classifier_l1_cls_cdd'].baseline == 'restormer_cdd'
    assert rows['restormer'].baseline is None
    assert not rows['restormer_cdd'].default
