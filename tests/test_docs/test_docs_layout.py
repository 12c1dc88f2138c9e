"""The docs stay true to the tree: the README is a short entry page with the
set-up commands, every relative link points to a file, and docs/design.md
names every package folder of ``sler_ir_mm/``.

Pure file reads (no torch, no MMagic), so these run in well under a second.
"""
import os
import os.path as osp
import re

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
README = osp.join(REPO, 'README.md')
DOCS = osp.join(REPO, 'docs')
DESIGN = osp.join(DOCS, 'design.md')

README_MAX_BYTES = 12 * 1024
SETUP_COMMANDS = ('bash tools/setup_env.sh', 'python -m pytest tests')

FENCE = re.compile(r'^(```|~~~).*?^\1[^\n]*$', re.M | re.S)
INLINE_CODE = re.compile(r'`[^`\n]*`')
# [text](target) and ![alt](target); the target ends at whitespace or ')'.
LINK = re.compile(r'!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
# [label]: target (reference-style definitions)
REF_DEF = re.compile(r'^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s|$)', re.M)
SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def markdown_files():
    files = [README]
    files += sorted(
        osp.join(DOCS, name) for name in os.listdir(DOCS)
        if name.endswith('.md'))
    return files


def link_targets(text):
    """Every link target of a Markdown text, outside code."""
    text = INLINE_CODE.sub('', FENCE.sub('', text))
    return LINK.findall(text) + REF_DEF.findall(text)


def relative_links(text):
    """Relative link targets to other files (no URLs, no same-page
    anchors)."""
    return [
        t for t in link_targets(text)
        if not SCHEME.match(t) and not t.startswith(('#', '//'))
    ]


def package_dirs():
    """Folders under sler_ir_mm/ holding an __init__.py, repo-relative."""
    found = []
    root = osp.join(REPO, 'sler_ir_mm')
    for folder, subdirs, files in os.walk(root):
        # Skip __pycache__ and hidden folders such as the generated .mim/.
        subdirs[:] = sorted(
            d for d in subdirs if d != '__pycache__' and not d.startswith('.'))
        if '__init__.py' in files:
            found.append(osp.relpath(folder, REPO).replace(os.sep, '/'))
    return found


def names_path(text, path):
    """Whether ``text`` names ``path`` itself, not only a longer path that
    starts with it (``sler_ir_mm/models`` inside ``sler_ir_mm/models/x``)."""
    pattern = r'(?<![\w/.])' + re.escape(path) + r'(?![\w-]|/[\w.])'
    return re.search(pattern, text) is not None


def test_package_dirs_found():
    dirs = package_dirs()
    assert 'sler_ir_mm' in dirs
    assert 'sler_ir_mm/models/routers' in dirs


def test_design_names_every_package_folder():
    text = read(DESIGN)
    missing = [d for d in package_dirs() if not names_path(text, d)]
    assert not missing, (
        f'docs/design.md ("Project layout") does not name these package '
        f'folders: {missing}; add a row for each')


def test_design_names_no_missing_package_path():
    """Paths under sler_ir_mm/ that design.md names exist (no stale rows)."""
    text = read(DESIGN)
    named = set(re.findall(r'(?<![\w/.])sler_ir_mm(?:/[\w.]+)*', text))
    # sler_ir_mm/.mim/ is made by setup.py at install time, not committed.
    stale = sorted(p for p in named
                   if not p.startswith('sler_ir_mm/.mim')
                   and not osp.exists(osp.join(REPO, p.rstrip('.'))))
    assert not stale, f'docs/design.md names paths that do not exist: {stale}'


@pytest.mark.parametrize(
    'path', markdown_files(), ids=lambda p: osp.relpath(p, REPO))
def test_relative_links_point_to_files(path):
    broken = []
    for target in relative_links(read(path)):
        file_part = target.split('#', 1)[0].split('?', 1)[0]
        if not file_part:
            continue
        resolved = osp.normpath(osp.join(osp.dirname(path), file_part))
        if not osp.exists(resolved):
            broken.append(target)
    assert not broken, (
        f'{osp.relpath(path, REPO)} links to missing files: {broken} '
        f'(links are relative to the page\'s folder)')


def heading_anchors(path):
    """GitHub's anchors of a Markdown file's headings."""
    text = FENCE.sub('', read(path))
    anchors, seen = set(), {}
    for heading in re.findall(r'^#{1,6}\s+(.*?)\s*#*\s*$', text, re.M):
        slug = re.sub(r'[^\w\- ]', '', heading.replace('`', '').lower())
        slug = slug.strip().replace(' ', '-')
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f'{slug}-{n}')
    return anchors


@pytest.mark.parametrize(
    'path', markdown_files(), ids=lambda p: osp.relpath(p, REPO))
def test_anchors_point_to_headings(path):
    broken = []
    for target in link_targets(read(path)):
        if '#' not in target or SCHEME.match(target):
            continue
        file_part, anchor = target.split('#', 1)
        linked = osp.normpath(osp.join(osp.dirname(path), file_part)) \
            if file_part else path
        if not linked.endswith('.md') or not osp.isfile(linked):
            continue  # a missing file is test_relative_links' failure
        if anchor not in heading_anchors(linked):
            broken.append(target)
    assert not broken, (
        f'{osp.relpath(path, REPO)} links to headings that do not exist: '
        f'{broken}')


def test_link_parser():
    text = ('[a](docs/x.md) [b](../y.md#sec) ![c](img.png) [d](#anchor) '
            '[e](https://example.org) `[f](code.md)`\n'
            '```\n[g](fenced.md)\n```\n[h]: ref.md\n')
    assert relative_links(text) == [
        'docs/x.md', '../y.md#sec', 'img.png', 'ref.md'
    ]


def test_names_path_is_exact():
    text = 'see `sler_ir_mm/models/routers` and sler_ir_mm/datasets/x.py'
    assert names_path(text, 'sler_ir_mm/models/routers')
    assert not names_path(text, 'sler_ir_mm/models')
    assert not names_path(text, 'sler_ir_mm/datasets')
    assert names_path('`sler_ir_mm/models/` |', 'sler_ir_mm/models')


def test_readme_is_short():
    size = os.path.getsize(README)
    assert size < README_MAX_BYTES, (
        f'README.md is {size} bytes; keep it under {README_MAX_BYTES} and '
        f'move details into docs/')


@pytest.mark.parametrize('command', SETUP_COMMANDS)
def test_readme_has_setup_commands(command):
    # .ci/run runs exactly these two commands.
    assert command in read(README)


def test_heading_anchors(tmp_path):
    page = tmp_path / 'page.md'
    page.write_text('# Title\n## Datasets (all-in-one protocols)\n'
                    '## `--resume` and more\n```\n## not a heading\n```\n'
                    '## Title\n')
    assert heading_anchors(str(page)) == {
        'title', 'datasets-all-in-one-protocols', '--resume-and-more',
        'title-1'
    }
