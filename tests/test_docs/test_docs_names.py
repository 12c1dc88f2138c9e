"""Every repository path, tool flag and config key the docs name exists.

README.md and docs/*.md are read whole (prose, tables and code):

- paths under the repository's folders (``sler_ir_mm/``, ``configs/``,
  ``tools/``, ``tests/``, ``docs/``, ``results/``, ``requirements/``,
  ``.ci/``) and dotted module names (``sler_ir_mm.apis.restore_image``)
  exist; ``<placeholder>``, ``*`` and ``...`` must match at least one file;
- every flag of a tool command (``python tools/x.py ... --flag``, also
  through ``tools/dist_*.sh``) is one of that tool's ``add_argument``
  options; a flag named on its own is an option of the tool whose row of
  a table it is in (docs/tools.md), else of some tool;
- every config key: the dotted keys of ``--cfg-options`` resolve in the
  command's config, dotted keys such as ``model.router.temperature``
  resolve in some shipped config, and a ``key=`` in code is a key of some
  config or a parameter of the package or the tools (or one of the short
  list of third-party names below); upper-case ``NAME=`` (environment
  variables) are read somewhere in the repository.

A dotted key's last part may also be an argument of the registered type of
the dict it goes into (``model.router.per_layer_centers=True`` sets an
argument the config leaves at its default).
"""
import ast
import glob
import inspect
import os
import os.path as osp
import re
import shlex
from functools import lru_cache
from typing import Iterator, List, Set, Tuple

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC_FILES = ['README.md'] + sorted(
    osp.join('docs', name) for name in os.listdir(osp.join(REPO, 'docs'))
    if name.endswith('.md'))

# Folders of the repository whose paths must exist.
REPO_DIRS = ('sler_ir_mm', 'configs', 'tools', 'tests', 'docs', 'results',
             'requirements', '.ci')
# Folders the docs name that are legitimately not in the repository: what
# the user supplies or runs write, all git-ignored.
USER_DIRS = {
    'data': 'datasets the user downloads (the mini benchmark is built '
    'there on first use)',
    'work_dirs': 'what training, tests and studies write',
    'checkpoints': 'CLIP / DA-CLIP weights the user supplies and the '
    'pretrained degradation encoders',
}
# Paths inside the repository that only an install creates (git-ignored,
# so a fresh clone has none of them).
INSTALL_PATHS = {
    'sler_ir_mm/.mim': 'the links or copies of configs and tools that '
    'setup.py makes for mim when the plugin is installed',
}
# Keyword names in the docs' code that belong to third-party callables or
# commands, not to our configs or code.
THIRD_PARTY_KEYS = {
    'periods': "MMEngine's CosineRestartLR",
    'restart_weights': "MMEngine's CosineRestartLR",
    'find_unused_parameters': "MMEngine's model_wrapper_cfg",
    'deterministic': "MMEngine's randomness",
    'allow_failed_imports': "MMEngine's custom_imports",
    'imports': "MMEngine's custom_imports",
    'meta_keys': "MMagic's PackInputs",
    'pretrained': 'open_clip.create_model',
    'weights_only': 'torch.load',
    'torch': 'pip install torch==VERSION',
    'torchvision': 'pip install torchvision==VERSION',
    'OMP_NUM_THREADS': 'read by OpenMP and torch (threads of a process)',
    'model_config': "MMagic's MMagicInferencer",
    'model_ckpt': "MMagic's MMagicInferencer",
    'result_out_dir': "MMagic's MMagicInferencer.infer",
}
# Tools run through a shell wrapper that passes its extra arguments on.
WRAPPED_TOOLS = {
    'tools/dist_train.sh': 'tools/train.py',
    'tools/dist_test.sh': 'tools/test.py',
}
ARGPARSE_FLAGS = {'-h', '--help'}

FENCE = re.compile(r'^(```|~~~)[^\n]*\n(.*?)^\1[^\n]*$', re.M | re.S)
INLINE_CODE = re.compile(r'`([^`\n]+)`')
URL = re.compile(r'[a-zA-Z][\w+.-]*://\S+')
PATH = re.compile(r'(?<![\w./<>-])((?:\.\./)*(?:' +
                  '|'.join(re.escape(d) for d in REPO_DIRS + tuple(USER_DIRS))
                  + r')(?:/[^\s`\'"|()\[\],;]*)?)')
MODULE = re.compile(r'(?<![\w./])sler_ir_mm(?:\.\w+)+')
TOOL = re.compile(r'(?<![\w./])tools/[\w/]+\.(?:py|sh)(?![\w/])')
FLAG = re.compile(r'^--?[A-Za-z][\w-]*')
KEYWORD = re.compile(r'(?<![\w.\-/$])([A-Za-z_]\w*)=(?!=)')
# Top-level config keys a dotted key in the docs starts with.
CONFIG_ROOTS = ('model', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg',
                'optim_wrapper', 'param_scheduler', 'default_hooks',
                'custom_hooks', 'env_cfg', 'randomness', 'val_evaluator',
                'test_evaluator', 'visualizer', 'log_processor')
DOTTED_KEY = re.compile(r'(?<![\w./])((?:' + '|'.join(CONFIG_ROOTS) +
                        r')(?:\.\w+)+)(?![\w(/]|\.\w)')


def read(rel: str) -> str:
    with open(osp.join(REPO, rel), encoding='utf-8') as f:
        return f.read()


def code_segments(text: str) -> List[str]:
    """The fenced blocks and inline code spans of a Markdown text."""
    blocks = [m.group(2) for m in FENCE.finditer(text)]
    inline = INLINE_CODE.findall(FENCE.sub('', text))
    return blocks + inline


def blocks_of(text: str) -> List[str]:
    """Paragraphs and table rows (a row is its own block), fences whole."""
    out: List[str] = []
    for part in re.split(r'\n\s*\n', text):
        if part.lstrip().startswith('|'):
            out += part.splitlines()
        else:
            out.append(part)
    return out


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------
def named_paths(rel: str) -> List[str]:
    """Repository-folder paths a doc names, without URLs."""
    text = URL.sub(' ', read(rel))
    return [m.rstrip('.:') for m in PATH.findall(text)]


def _as_glob(path: str) -> str:
    path = re.sub(r'<[^>]*>?', '*', path)  # <name>, a cut-off '<config'
    path = path.replace('...', '*')
    return re.sub(r'\*+', '*', path)


def path_exists(doc: str, path: str) -> bool:
    """Repo-relative (or, for ``../``, relative to the doc's folder)."""
    base = osp.dirname(osp.join(REPO, doc)) if path.startswith('../') \
        else REPO
    full = osp.normpath(osp.join(base, path))
    if any(c in path for c in '<*') or '...' in path:
        return bool(glob.glob(_as_glob(full)))
    return osp.exists(full)


def missing_paths(doc: str) -> List[str]:
    """Paths that do not exist; for a pytest node id (``file::test``) also
    the test (or class) that the file does not define."""
    missing = []
    for path in named_paths(doc):
        top = path.lstrip('./').split('/')[0]
        if top in USER_DIRS or any(
                path.lstrip('./').startswith(p) for p in INSTALL_PATHS):
            continue
        path, *names = path.split('::')
        # A link's '#anchor' is the heading's business (test_docs_layout).
        path = path.split('#')[0]
        if not path_exists(doc, path):
            missing.append(path)
        elif names and names[0].split('[')[0] not in module_names(path):
            missing.append(f'{path}::{names[0]}')
    return sorted(set(missing))


@lru_cache(maxsize=None)
def module_names(rel: str) -> Set[str]:
    """Top-level names a module defines or imports."""
    tree = ast.parse(read(rel))
    names: Set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef,
                             ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) \
                else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target)
                          if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split('.')[0]
                      for a in node.names}
    return names


def module_exists(dotted: str) -> bool:
    """``a.b.c``: a module or package, or a name defined in one."""
    parts = dotted.split('.')
    for cut in range(len(parts), 0, -1):
        rel = '/'.join(parts[:cut])
        for candidate in (rel + '.py', rel + '/__init__.py'):
            if osp.isfile(osp.join(REPO, candidate)):
                rest = parts[cut:]
                return not rest or rest[0] in module_names(candidate)
    return False


# ---------------------------------------------------------------------------
# flags
# ---------------------------------------------------------------------------
@lru_cache(maxsize=None)
def tool_flags(rel: str) -> Set[str]:
    """Option strings of every ``add_argument`` call of a tool script."""
    rel = WRAPPED_TOOLS.get(rel, rel)
    if rel.endswith('.sh'):  # the options of its `case` patterns
        return set(re.findall(r'^\s*(--?[\w-]+)(?:\|[^)]*)?\)', read(rel),
                              re.M))
    flags = set(ARGPARSE_FLAGS)
    for node in ast.walk(ast.parse(read(rel))):
        if isinstance(node, ast.Call) and isinstance(
                node.func, ast.Attribute) and \
                node.func.attr == 'add_argument':
            flags |= {a.value for a in node.args
                      if isinstance(a, ast.Constant) and
                      isinstance(a.value, str) and a.value.startswith('-')}
    return flags


def all_tools() -> List[str]:
    found = glob.glob(osp.join(REPO, 'tools', '*.py')) + glob.glob(
        osp.join(REPO, 'tools', '*', '*.py'))
    return sorted(osp.relpath(p, REPO).replace(os.sep, '/') for p in found)


def commands(segment: str) -> Iterator[List[str]]:
    """Shell words of each command of a code segment (continuation lines
    joined; split at newlines, ``&&``, ``||``, ``;`` and ``|``)."""
    segment = re.sub(r'\\\n', ' ', segment)
    for line in re.split(r'\n|&&|\|\||;|(?<!\\)\|', segment):
        line = line.split(' #', 1)[0]
        try:
            words = shlex.split(line)
        except ValueError:  # an unbalanced quote in prose-like code
            words = line.split()
        if words:
            yield words


def tool_commands(doc: str) -> Iterator[Tuple[str, List[str]]]:
    """``(tool, arguments)`` of every tool command in a doc's code."""
    for segment in code_segments(read(doc)):
        for words in commands(segment):
            for i, word in enumerate(words):
                if TOOL.fullmatch(word):
                    yield word, words[i + 1:]
                    break


def flags_in(words: List[str]) -> List[str]:
    out = []
    for word in words:
        match = FLAG.match(word)
        if match and not re.match(r'^-\d', word):
            out.append(match.group(0))
    return out


def wrong_command_flags(doc: str) -> List[str]:
    wrong = []
    for tool, args in tool_commands(doc):
        if not osp.isfile(osp.join(REPO, tool)):
            continue  # test_paths_exist names it
        for flag in flags_in(args):
            if flag not in tool_flags(tool):
                wrong.append(f'{tool} {flag}')
    return sorted(set(wrong))


def wrong_standalone_flags(doc: str) -> List[str]:
    """Flags in inline code outside a tool command: in a table row that
    starts with a tool (docs/tools.md), of the tools that row names; else
    of any tool."""
    wrong = []
    every = set().union(*(tool_flags(t) for t in all_tools()))
    for block in blocks_of(FENCE.sub('', read(doc))):
        cells = block.strip().strip('|').split('|')
        named = [t for t in TOOL.findall(block)
                 if osp.isfile(osp.join(REPO, t))]
        row_of_tool = block.lstrip().startswith('|') and \
            TOOL.search(cells[0]) is not None
        known = set().union(*(tool_flags(t) for t in named)) \
            if row_of_tool else every
        for span in INLINE_CODE.findall(block):
            if TOOL.search(span) or not span.startswith('--'):
                continue
            for flag in flags_in(span.split()):
                if flag.startswith('--') and flag not in known:
                    where = ', '.join(named) if row_of_tool else 'any tool'
                    wrong.append(f'{flag} (not an option of {where})')
    return sorted(set(wrong))


# ---------------------------------------------------------------------------
# config keys
# ---------------------------------------------------------------------------
def shipped_configs() -> List[str]:
    found = glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                      recursive=True)
    return sorted(
        osp.relpath(p, REPO).replace(os.sep, '/') for p in found
        if f'{os.sep}_base_{os.sep}' not in p)


@lru_cache(maxsize=None)
def load_config(rel: str):
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO, rel))


def _registered(kind):
    """The class or function a config's ``type`` names, if registered."""
    if not isinstance(kind, str):
        return kind
    from mmagic.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS
    for registry in (MODELS, DATASETS, TRANSFORMS, HOOKS, METRICS):
        found = registry.get(kind)
        if found is not None:
            return found
    return None


def _accepts(node: dict, key: str) -> bool:
    """Whether ``key`` is an argument of the registered type of ``node``."""
    target = _registered(node.get('type'))
    if target is None:
        return False
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return key in params or any(
        p.kind == p.VAR_KEYWORD for p in params.values())


def key_resolves(cfg, dotted: str) -> bool:
    """``a.b.c`` (list indices as numbers) in a config, the last part also
    as an argument of its parent's registered type."""
    node = cfg
    parts = dotted.split('.')
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node:
            node = node[part]
        elif last and hasattr(node, 'keys') and _accepts(node, part):
            return True
        else:
            return False
    return True


def cfg_option_keys(args: List[str]) -> List[str]:
    """The keys of a command's ``--cfg-options k=v ...``."""
    keys, inside = [], False
    for word in args:
        if word.startswith('-'):
            inside = word == '--cfg-options'
        elif inside and '=' in word:
            keys.append(word.split('=', 1)[0])
    return keys


def wrong_cfg_options(doc: str) -> List[str]:
    wrong = []
    for tool, args in tool_commands(doc):
        keys = cfg_option_keys(args)
        if not keys:
            continue
        configs = [a for a in args if a.startswith('configs/')
                   and a.endswith('.py')
                   and osp.isfile(osp.join(REPO, a))]
        for key in keys:
            if key == 'k':  # the docs' placeholder "k=v"
                continue
            pool = configs or shipped_configs()
            if not any(key_resolves(load_config(c), key) for c in pool):
                wrong.append(f'{key} ({", ".join(configs) or "any config"})')
    return sorted(set(wrong))


def wrong_dotted_keys(doc: str) -> List[str]:
    wrong = []
    for segment in code_segments(read(doc)):
        for key in DOTTED_KEY.findall(segment):
            if not any(key_resolves(load_config(c), key)
                       for c in shipped_configs()):
                wrong.append(key)
    return sorted(set(wrong))


@lru_cache(maxsize=None)
def known_keys() -> Set[str]:
    """Keys of every config file and parameters of every function of the
    package and the tools (by reading the source)."""
    names: Set[str] = set()
    files = glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                      recursive=True)
    files += glob.glob(osp.join(REPO, 'sler_ir_mm', '**', '*.py'),
                       recursive=True)
    files += glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                       recursive=True)
    for path in files:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.Dict):
                names |= {k.value for k in node.keys
                          if isinstance(k, ast.Constant) and
                          isinstance(k.value, str)}
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Assign):
                names |= {t.id for t in node.targets
                          if isinstance(t, ast.Name)}
    return names


@lru_cache(maxsize=None)
def repository_text() -> str:
    """The package, tools, CI and configs, for environment variables."""
    parts = []
    for pattern in ('sler_ir_mm/**/*.py', 'tools/**/*', '.ci/*',
                    'configs/**/*.py', 'setup.py'):
        for path in glob.glob(osp.join(REPO, pattern), recursive=True):
            if osp.isfile(path):
                with open(path, encoding='utf-8', errors='replace') as f:
                    parts.append(f.read())
    return '\n'.join(parts)


def wrong_keywords(doc: str) -> List[str]:
    wrong = []
    for segment in code_segments(URL.sub(' ', read(doc))):
        for name in KEYWORD.findall(segment):
            if name.isupper():
                if name not in THIRD_PARTY_KEYS and not re.search(
                        rf'\b{name}\b', repository_text()):
                    wrong.append(f'{name} (environment variable)')
            elif name not in known_keys() and name not in THIRD_PARTY_KEYS:
                wrong.append(name)
    return sorted(set(wrong))


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------
DOCS = pytest.mark.parametrize('doc', DOC_FILES)


@DOCS
def test_paths_exist(doc):
    missing = missing_paths(doc)
    assert not missing, f'{doc} names paths that do not exist: {missing}'


@DOCS
def test_module_names_exist(doc):
    wrong = sorted({m for m in MODULE.findall(read(doc))
                    if not module_exists(m)})
    assert not wrong, f'{doc} names modules or names that do not exist: ' \
        f'{wrong}'


@DOCS
def test_tool_flags_exist(doc):
    wrong = wrong_command_flags(doc) + wrong_standalone_flags(doc)
    assert not wrong, f'{doc} names tool options that do not exist: {wrong}'


@DOCS
def test_config_keys_exist(doc):
    wrong = wrong_cfg_options(doc) + wrong_dotted_keys(doc) + \
        wrong_keywords(doc)
    assert not wrong, f'{doc} names config keys that do not exist: {wrong}'


def test_the_checks_catch_what_they_should(tmp_path, monkeypatch):
    """Each check on a made-up page: what exists passes, what not fails."""
    page = tmp_path / 'page.md'
    page.write_text(
        'See `tools/train.py` and sler_ir_mm/datasets/mini_benchmark.py, '
        'data/mine/ (user data) and configs/sler_ir_mini_*.py.\n'
        'Not here: configs/no_such.py and tools/misc/gone.py.\n\n'
        '```bash\npython tools/train.py configs/sler_ir_mini_5task.py \\\n'
        '    --work-dir work_dirs/x --no-such-flag \\\n'
        '    --cfg-options model.router.temperature=0.05 '
        'model.router.no_such_key=1\n'
        'bash tools/dist_train.sh CONFIG 2 --resume\n```\n\n'
        '| `tools/test.py CONFIG CKPT` | `--out x`, `--stage-epochs` |\n\n'
        '`route_tile_size=64`, `no_such_param=3`, `SLER_IR_TRACEBACK=1`, '
        '`NO_SUCH_VARIABLE=1`, `model.router.temperature`, '
        '`model.router.nonexistent`, `sler_ir_mm.apis.restore_image`, '
        '`sler_ir_mm.apis.no_such_function`.\n')
    doc = osp.relpath(str(page), REPO)
    assert missing_paths(doc) == ['configs/no_such.py',
                                  'tools/misc/gone.py']
    assert wrong_command_flags(doc) == ['tools/train.py --no-such-flag']
    assert wrong_standalone_flags(doc) == [
        '--stage-epochs (not an option of tools/test.py)'
    ]
    assert wrong_cfg_options(doc) == [
        'model.router.no_such_key (configs/sler_ir_mini_5task.py)'
    ]
    assert wrong_dotted_keys(doc) == ['model.router.no_such_key',
                                      'model.router.nonexistent']
    assert wrong_keywords(doc) == [
        'NO_SUCH_VARIABLE (environment variable)', 'no_such_param'
    ]
    assert [m for m in MODULE.findall(page.read_text())
            if not module_exists(m)] == ['sler_ir_mm.apis.no_such_function']
