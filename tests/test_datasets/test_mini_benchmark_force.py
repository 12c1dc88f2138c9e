"""``build_mini_benchmark(root, force=True)`` (issue 16): it rebuilds a
complete copy whatever is in the folder (same bytes, same manifest, nothing
extra, nothing temporary left), while a folder without a manifest is still
refused and left as it was. On a 2-photo benchmark (test_mini_benchmark's
``small_benchmark``) to stay fast."""
import json
import os
import os.path as osp

import pytest
from test_mini_benchmark import small_benchmark

from sler_ir_mm.datasets import build_mini_benchmark
from sler_ir_mm.datasets import mini_benchmark as mb


def snapshot(root):
    """relative path -> bytes of every file under ``root``."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


@pytest.fixture
def built(tmp_path, monkeypatch):
    small_benchmark(monkeypatch)
    root = str(tmp_path / 'mini')
    build_mini_benchmark(root)
    return root, snapshot(root)


def test_force_rebuilds_a_damaged_copy_byte_for_byte(built, tmp_path):
    root, original = built
    manifest = mb.read_manifest(root)
    listed = set(manifest['files'])
    assert listed | {mb.MANIFEST} == set(original)
    # Damage the copy but keep its manifest: one file changed, one gone,
    # one added.
    changed, gone = sorted(listed)[:2]
    with open(osp.join(root, changed), 'wb') as f:
        f.write(b'not a png')
    os.remove(osp.join(root, gone))
    with open(osp.join(root, 'Train', 'stray.txt'), 'w') as f:
        f.write('left here')
    # Without force a folder with a manifest counts as complete: kept.
    assert build_mini_benchmark(root) == root
    assert not osp.exists(osp.join(root, gone))

    assert build_mini_benchmark(root, force=True) == root
    assert snapshot(root) == original
    assert mb.read_manifest(root) == manifest
    # The temporary build folder was renamed into place; only the lock
    # file is left beside it.
    assert sorted(os.listdir(tmp_path)) == ['mini', 'mini.lock']


def test_force_on_a_complete_copy_gives_the_same_bytes(built):
    root, original = built
    stamp = os.stat(osp.join(root, mb.MANIFEST)).st_mtime_ns
    build_mini_benchmark(root, force=True)
    # Written again (a new manifest file), with the same content.
    assert os.stat(osp.join(root, mb.MANIFEST)).st_mtime_ns != stamp
    assert snapshot(root) == original


def test_an_older_version_is_rebuilt_without_force(built):
    root, original = built
    path = osp.join(root, mb.MANIFEST)
    with open(path) as f:
        manifest = json.load(f)
    manifest['version'] = mb.BENCHMARK_VERSION - 1
    with open(path, 'w') as f:
        json.dump(manifest, f)
    os.remove(osp.join(root, sorted(manifest['files'])[0]))
    build_mini_benchmark(root)
    assert snapshot(root) == original


@pytest.mark.parametrize('force', [False, True])
def test_a_folder_without_manifest_is_refused_even_with_force(
        tmp_path, monkeypatch, force):
    small_benchmark(monkeypatch)
    root = tmp_path / 'photos'
    (root / 'sub').mkdir(parents=True)
    (root / 'photo.png').write_bytes(b'x')
    (root / 'sub' / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='not a mini benchmark'):
        build_mini_benchmark(str(root), force=force)
    assert snapshot(str(root)) == {
        'photo.png': b'x',
        osp.join('sub', 'notes.txt'): b'mine'
    }
    # Nothing was started beside it either.
    assert sorted(os.listdir(tmp_path)) == ['photos', 'photos.lock']


def test_a_half_built_copy_without_manifest_is_refused(built):
    """A copy whose manifest is gone is no longer known to be a benchmark:
    force does not delete it."""
    root, original = built
    os.remove(osp.join(root, mb.MANIFEST))
    with pytest.raises(FileExistsError, match='not a mini benchmark'):
        build_mini_benchmark(root, force=True)
    assert set(snapshot(root)) == set(original) - {mb.MANIFEST}
