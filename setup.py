"""Packaging for sler_ir_mm.

Pure Python on purpose: it must run before torch is installed (``pip install``
builds metadata first), so it imports neither torch nor the package itself.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
# What `mim train/test sler_ir_mm ...` looks up under the installed package.
MIM_FILES = ('configs', 'tools', 'model-index.yml', 'metafile.yml')


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'sler_ir_mm', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Read requirement lines, dropping comments and blank lines."""
    reqs = []
    with open(osp.join(HERE, fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Expose configs/ and tools/ as ``sler_ir_mm/.mim/`` for OpenMIM.

    Editable installs (``develop`` or PEP 660 ``editable_wheel``) get symlinks so
    edits show up at once; wheel and sdist builds get real copies.
    """
    argv = set(sys.argv)
    if argv & {'develop', 'editable_wheel'}:
        mode = 'symlink'
    elif argv & {'sdist', 'bdist_wheel', 'build', 'build_py', 'install'}:
        mode = 'copy'
    else:
        return
    mim_root = osp.join(HERE, 'sler_ir_mm', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        if not osp.exists(src):
            continue
        dst = osp.join(mim_root, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_root), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='sler_ir_mm',
        version=get_version(),
        description='SLER-IR all-in-one image restoration as an MMagic plugin',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='image restoration, all-in-one, mixture of experts, MMagic',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
        include_package_data=True,
        python_requires='>=3.9',
        license='Apache License 2.0',
        classifiers=[
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Image Processing',
        ],
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'demo': parse_requirements('requirements/demo.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
        },
        zip_safe=False)
