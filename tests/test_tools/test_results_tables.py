"""tools/analysis_tools/results_tables.py: README.md, docs/mini_study.md and
metafile.yml agree with the study summary they name, and the tool finds
and fixes a table that does not."""
import json
import os.path as osp
import shutil

import pytest
import yaml
from tool_runner import load_tool

TOOL = osp.join('tools', 'analysis_tools', 'results_tables.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


def test_the_published_tables_agree_with_their_summary(tool, repo_root):
    assert tool.stale_files(repo_root) == [], (
        'run python tools/analysis_tools/results_tables.py')


def test_metafile_results_are_the_summary_s_means(tool, repo_root):
    """Read independently of the generator: every model of metafile.yml
    with Results has a row in the summary it names, with these means."""
    text = open(osp.join(repo_root, 'metafile.yml')).read()
    path = tool.metafile_summary_path(text)
    with open(osp.join(repo_root, path)) as f:
        summary = json.load(f)
    rows = {r['name']: r for r in summary['rows']}
    with_results = [
        m for m in yaml.safe_load(text)['Models'] if m.get('Results')
    ]
    assert with_results
    for model in with_results:
        row = rows[model['Study']['Row']]
        result, = model['Results']
        assert result['Dataset'] == summary['dataset']
        assert model['Metadata']['Seeds'].startswith(
            ', '.join(map(str, row['seeds'])) + ' ')
        metrics = result['Metrics']
        for name, values in row['sets'].items():
            assert metrics[f'{name} PSNR'] == round(values['PSNR']['mean'], 2)
            assert metrics[f'{name} SSIM'] == round(values['SSIM']['mean'], 3)
        assert metrics['Average PSNR'] == round(
            row['averages']['single']['PSNR']['mean'], 2)


def test_the_readme_headline_names_its_summary(tool, repo_root):
    text = open(osp.join(repo_root, 'README.md')).read()
    (kind, path), = tool.find_blocks(text)
    assert kind == 'headline' and osp.isfile(osp.join(repo_root, path))
    with open(osp.join(repo_root, path)) as f:
        sler = {r['name']: r for r in json.load(f)['rows']}['sler_ir']
    mean = sler['averages']['single']['PSNR']
    assert f'| {mean["mean"]:.2f} ± {mean["sd"]:.2f} |' in text


def test_a_stale_table_is_found_and_rewritten(tool, repo_root, tmp_path,
                                              capsys):
    root = tmp_path / 'repo'
    root.mkdir()
    for name in ('README.md', 'metafile.yml'):
        shutil.copy(osp.join(repo_root, name), root / name)
    shutil.copytree(osp.join(repo_root, 'docs'), root / 'docs')
    for study in ('mini_study_v1', 'mini_study_v2'):
        shutil.copytree(osp.join(repo_root, 'results', study),
                        root / 'results' / study)
    assert tool.main(['--check', '--root', str(root)]) == []
    # A figure edited by hand in two places (README's table is version
    # 2's, the metafile's version 1's).
    readme = (root / 'README.md').read_text()
    with open(osp.join(repo_root, 'results', 'mini_study_v2',
                       'summary.json')) as f:
        sler = {r['name']: r for r in json.load(f)['rows']}['sler_ir']
    mean = sler['averages']['single']['PSNR']
    figure = f'| {mean["mean"]:.2f} ± {mean["sd"]:.2f} |'
    assert figure in readme
    (root / 'README.md').write_text(readme.replace(figure, '| 99.99 ± 0.01 |'))
    meta = (root / 'metafile.yml').read_text()
    (root / 'metafile.yml').write_text(
        meta.replace('Average PSNR: 23.26', 'Average PSNR: 24.00'))
    with pytest.raises(SystemExit):
        tool.main(['--check', '--root', str(root)])
    assert 'stale: README.md, metafile.yml' in capsys.readouterr().err
    assert tool.main(['--root', str(root)]) == ['README.md', 'metafile.yml']
    assert (root / 'README.md').read_text() == readme
    assert (root / 'metafile.yml').read_text() == meta
