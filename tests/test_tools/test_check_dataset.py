"""tools/misc/check_dataset.py: its checks one dataset at a time, and the
tool on the smoke data, a fresh mini benchmark config and broken trees."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from make_smoke_pairs import make_smoke_pairs
from mmengine.config import Config
from tool_runner import load_tool, run_tool

from sler_ir_mm.datasets import mini_benchmark as mb

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
MINI_CFG = osp.join('configs', 'sler_ir_mini_5task.py')
TOOL = osp.join('tools', 'misc', 'check_dataset.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


@pytest.fixture
def smoke_root(tmp_path, monkeypatch):
    """The smoke config reads data/smoke_pairs relative to the cwd."""
    monkeypatch.chdir(tmp_path)
    # 32 x 32: the smoke config's training patch (smaller is a problem).
    make_smoke_pairs(str(tmp_path / 'data' / 'smoke_pairs'), num_train=2,
                     num_val=1, size=32)
    return tmp_path / 'data' / 'smoke_pairs'


def test_clean_tree_passes(tool, repo_root, smoke_root, capsys):
    assert tool.main([osp.join(repo_root, CFG)]) == 0
    out = capsys.readouterr().out
    for split in ('train', 'val', 'test'):
        assert f'{split}: 2 dataset(s)' in out
    assert '| noise   | data/smoke_pairs: img=noise/train/input, ' \
        'gt=noise/train/target | 2       | 0        |' in out
    assert '(same as val_dataloader[1].dataset)' in out
    assert out.rstrip().endswith('All 6 dataset(s) OK.')


def test_broken_tree_names_each_file(repo_root, smoke_root):
    train_gt = smoke_root / 'noise' / 'train' / 'target' / '0001.png'
    os.remove(train_gt)
    truncated = smoke_root / 'noise' / 'train' / 'input' / '0000.png'
    with open(truncated, 'r+b') as f:
        f.truncate(60)
    small_gt = smoke_root / 'dark' / 'val' / 'target' / '0000.png'
    cv2.imwrite(str(small_gt), np.zeros((12, 16, 3), np.uint8))
    shutil.rmtree(smoke_root / 'dark' / 'train')

    # A subprocess, for the real exit code.
    out = run_tool(repo_root, str(smoke_root.parent.parent),
                   osp.join(repo_root, TOOL), osp.join(repo_root, CFG),
                   expect_code=1)
    assert 'data/smoke_pairs/noise/train/target/0001.png: file not found: ' \
        'no clean image for data/smoke_pairs/noise/train/input/0001.png' in out
    assert 'data/smoke_pairs/noise/train/input/0000.png: cannot decode' in out
    assert 'data/smoke_pairs/dark/val/target/0000.png: size mismatch: ' \
        'clean image is 12x16 (HxW)' in out
    assert 'cannot build the dataset: FileNotFoundError' in out
    assert 'data/smoke_pairs/dark/train/input' in out
    assert '4 problem(s) in 4 of 6 dataset(s)' in out
    assert 'is not a meta file' not in out


def test_no_decode_and_splits(tool, repo_root, smoke_root, capsys):
    with open(smoke_root / 'noise' / 'val' / 'input' / '0000.png',
              'r+b') as f:
        f.truncate(60)
    os.remove(smoke_root / 'dark' / 'val' / 'target' / '0000.png')
    cfg = osp.join(repo_root, CFG)
    # Not decoding: only the missing file.
    assert tool.main([cfg, '--splits', 'val', '--no-decode']) == 1
    out = capsys.readouterr().out
    assert 'train:' not in out and 'test:' not in out
    assert 'dark/val/target/0000.png: file not found' in out
    assert 'cannot decode' not in out
    assert tool.main([cfg, '--splits', 'test', '--workers', '1']) == 1
    assert 'noise/val/input/0000.png: cannot decode' in capsys.readouterr().out
    with pytest.raises(SystemExit, match='config file not found'):
        tool.main(['missing.py'])


def write_kind(path, kind, hw=(20, 20)):
    """A good image of size ``hw``, or one of the bad kinds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if kind == 'zero_bytes':
        path.write_bytes(b'')
    elif kind == 'not_an_image':
        path.write_text('hello, not a PNG')
    elif kind == 'truncated':
        data = cv2.imencode('.png', rng.integers(0, 256, hw + (3, ),
                                                 np.uint8))[1].tobytes()
        path.write_bytes(data[:len(data) // 2])
    else:
        shape = dict(good=hw + (3, ), gray=hw, rgba=hw + (4, ),
                     deep16=hw + (3, ))[kind]
        top = 65536 if kind == 'deep16' else 256
        dtype = np.uint16 if kind == 'deep16' else np.uint8
        assert cv2.imwrite(str(path), rng.integers(0, top, shape, dtype))


BAD_TREE_CFG = """
def pipeline(train):
    steps = [dict(type='LoadImageFromFileChecked', key='img'),
             dict(type='LoadImageFromFileChecked', key='gt')]
    if train:
        steps += [dict(type='CheckPairedSize', min_size=16),
                  dict(type='PairedRandomCrop', gt_patch_size=16)]
    return steps + [dict(type='PackInputs')]


def pairs(task, folder, train=True, **kwargs):
    return dict(type='DegradationPairDataset', task_name=task,
                degradation_label=1, data_root=ROOT, test_mode=not train,
                data_prefix=dict(img=folder + '/input', gt=folder + '/target'),
                pipeline=pipeline(train), **kwargs)


train_dataloader = dict(dataset=dict(type='ConcatDataset', datasets=[
    pairs('derain', 'rain'),
    pairs('deblur', 'blur'),
    pairs('lowlight', 'low'),
    dict(type='CleanImageDataset', data_root=ROOT, noise_sigma=25,
         data_prefix=dict(gt='denoise'), pipeline=pipeline(True)),
]))
test_dataloader = dict(dataset=pairs('derain', 'rain_test', train=False))
"""


def test_bad_images_and_trees_of_our_datasets(tool, tmp_path, capsys):
    """Every bad input of the issue, each named by the checker."""
    rain = tmp_path / 'rain'
    kinds = dict(a='good', b='zero_bytes', c='not_an_image', d='truncated',
                 e='deep16', f='gray', g='rgba')
    for name, kind in kinds.items():
        write_kind(rain / 'input' / f'{name}.png', kind)
        write_kind(rain / 'target' / f'{name}.png', 'good')
    for name, hw in (('h_1x1', (1, 1)), ('i_7x5', (7, 5)),
                     ('j_wide', (8, 2000))):
        for sub in ('input', 'target'):
            write_kind(rain / sub / f'{name}.png', 'good', hw)
    write_kind(rain / 'input' / 'k.png', 'good', (20, 19))  # LQ != GT
    write_kind(rain / 'target' / 'k.png', 'good')
    for sub in ('input', 'target'):  # the test set: any size, same size
        write_kind(tmp_path / 'rain_test' / sub / '1x1.png', 'good', (1, 1))
    write_kind(tmp_path / 'rain_test' / 'input' / 'k.png', 'good', (20, 19))
    write_kind(tmp_path / 'rain_test' / 'target' / 'k.png', 'good')
    # lowlight: an unpaired name; deblur: no folder; denoise: empty folder
    write_kind(tmp_path / 'low' / 'input' / 'x.png', 'good')
    write_kind(tmp_path / 'low' / 'target' / 'y.png', 'good')
    (tmp_path / 'denoise').mkdir()
    cfg = tmp_path / 'bad_tree.py'
    cfg.write_text(f'ROOT = {str(tmp_path)!r}\n' + BAD_TREE_CFG)

    assert tool.main([str(cfg), '--workers', '1']) == 1
    out = capsys.readouterr().out
    root = str(tmp_path)

    def line(path, reason):
        return f'  {osp.join(root, path)}: {reason}' in out.splitlines()

    assert line('rain/input/b.png', 'empty file (0 bytes) (img_path)')
    for name in ('c', 'd'):
        assert f'{osp.join(root, "rain/input", name)}.png: cannot decode (' \
            in out
    for name in ('a', 'e', 'f', 'g'):  # good, 16-bit, gray, RGBA load fine
        assert f'rain/input/{name}.png' not in out
    for name, hw in (('h_1x1', '1x1'), ('i_7x5', '7x5'),
                     ('j_wide', '8x2000')):
        assert line(
            f'rain/input/{name}.png',
            f'{hw} (HxW) is smaller than the 16x16 training patch '
            f'(CheckPairedSize min_size=16); its clean image is '
            f'{osp.join(root, "rain/target", name)}.png')
    assert line('rain/target/k.png',
                'size mismatch: clean image is 20x20 (HxW), degraded '
                f'{osp.join(root, "rain/input/k.png")} is 20x19')
    assert line('rain_test/target/k.png',
                'size mismatch: clean image is 20x20 (HxW), degraded '
                f'{osp.join(root, "rain_test/input/k.png")} is 20x19')
    assert 'rain_test/input/1x1.png' not in out  # tests take any size
    assert f"data_prefix['img'] folder not found: " \
        f"{osp.join(root, 'blur/input')!r}" in out
    assert "x.png -> no clean image x.* (any image extension)" in out
    assert f"no images for task 'denoise': {osp.join(root, 'denoise')!r} " \
        'is empty' in out
    assert out.rstrip().endswith('11 problem(s) in 5 of 5 dataset(s)')


# ---------------------------------------------------------------------------
# The checks of one dataset config
# ---------------------------------------------------------------------------
def write_img(path, h=8, w=8):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, np.full((h, w, 3), 128, np.uint8))
    return path


@pytest.fixture
def pairs(tmp_path):
    """root/{input,target}/{0,1,2}.png, 8 x 8."""
    for i in range(3):
        for sub in ('input', 'target'):
            write_img(str(tmp_path / sub / f'{i}.png'))
    return str(tmp_path)


def basic_cfg(root, **kwargs):
    return dict(
        type='BasicImageDataset',
        metainfo=dict(dataset_type='smoke_noise', task_name='noise'),
        data_root=root,
        data_prefix=dict(img='input', gt='target'),
        pipeline=[],
        **kwargs)


def pair_cfg(root):
    return dict(
        type='DegradationPairDataset',
        task_name='derain',
        degradation_label=1,
        data_root=root,
        data_prefix=dict(img='input', gt='target'),
        pipeline=[])


def test_clean_dataset_has_no_problems(tool, pairs):
    report = tool.check_dataset_cfg(basic_cfg(pairs), 'val', 'val_dataloader')
    assert report.ok and report.num_samples == 3
    assert report.name == 'noise'
    assert report.location == f'{pairs}: img=input, gt=target'


def test_file_problems_are_named(tool, pairs):
    os.remove(osp.join(pairs, 'target', '0.png'))
    with open(osp.join(pairs, 'input', '1.png'), 'r+b') as f:
        f.truncate(40)
    open(osp.join(pairs, 'target', '2.png'), 'wb').close()
    report = tool.check_dataset_cfg(basic_cfg(pairs), num_workers=2)
    assert report.num_problems == 3
    by_file = {osp.basename(osp.dirname(p.path)) + '/' +
               osp.basename(p.path): p.reason for p in report.problems}
    assert by_file['target/0.png'].startswith('file not found: no clean '
                                              'image for')
    assert 'input/0.png' in by_file['target/0.png']
    assert by_file['input/1.png'].startswith('cannot decode')
    assert by_file['target/2.png'].startswith('empty file (0 bytes)')
    # Without decoding only the missing and the empty file are found.
    fast = tool.check_dataset_cfg(basic_cfg(pairs), decode=False)
    assert sorted(osp.basename(p.path) for p in fast.problems) == \
        ['0.png', '2.png']


def test_size_mismatch(tool, pairs):
    write_img(osp.join(pairs, 'target', '1.png'), h=6)
    report = tool.check_dataset_cfg(basic_cfg(pairs))
    problem, = report.problems
    assert problem.path == osp.join(pairs, 'target', '1.png')
    assert 'size mismatch: clean image is 6x8' in problem.reason
    assert 'is 8x8' in problem.reason


def test_build_errors_are_reported(tool, pairs, tmp_path):
    # Our datasets list the unpaired names when built.
    os.remove(osp.join(pairs, 'target', '1.png'))
    report = tool.check_dataset_cfg(pair_cfg(pairs))
    assert not report.ok and report.num_samples == 0
    assert 'FileNotFoundError' in report.build_error
    assert '1.png -> no clean image 1.*' in report.build_error
    # A missing folder: the error gives its path.
    missing = tool.check_dataset_cfg(basic_cfg(str(tmp_path / 'nowhere')))
    assert str(tmp_path / 'nowhere' / 'input') in missing.build_error
    # An empty folder builds an empty BasicImageDataset: a problem too.
    os.makedirs(tmp_path / 'empty' / 'input')
    empty = tool.check_dataset_cfg(basic_cfg(str(tmp_path / 'empty')))
    assert empty.num_samples == 0
    assert 'no samples' in empty.problems[0].reason
    with pytest.raises(ValueError, match='dataset config'):
        tool.check_dataset_cfg(dict(data_root=pairs))


def test_clean_image_dataset_name_from_class_default(tool, pairs):
    cfg = dict(type='CleanImageDataset', data_root=pairs,
               data_prefix=dict(gt='target'), pipeline=[])
    report = tool.check_dataset_cfg(cfg)
    assert report.ok and report.num_samples == 3
    assert report.name == 'denoise'


def test_config_check_dedupes_and_formats(tool, pairs):
    os.remove(osp.join(pairs, 'target', '0.png'))
    val = [dict(dataset=basic_cfg(pairs))]
    cfg = dict(val_dataloader=val, test_dataloader=val)
    reports = tool.check_config_datasets(cfg, num_workers=1)
    assert [r.split for r in reports] == ['val', 'test']
    assert reports[1].same_as == 'val_dataloader[0].dataset'
    assert reports[1].num_problems == reports[0].num_problems == 1
    text = tool.format_reports(reports)
    assert 'val: 1 dataset(s)' in text and 'test: 1 dataset(s)' in text
    # The problem is listed once, under the first dataset.
    assert text.count(osp.join(pairs, 'target', '0.png')) == 1
    assert text.splitlines()[-1] == '1 problem(s) in 2 of 2 dataset(s)'


def test_images_smaller_than_the_training_patch(tool, pairs):
    for sub in ('input', 'target'):
        write_img(osp.join(pairs, sub, '2.png'), h=6)
    train = [dict(type='CheckPairedSize', min_size=4),
             dict(type='PairedRandomCrop', gt_patch_size=8)]
    assert tool.patch_size_of(dict(pipeline=train)) == \
        (8, 'PairedRandomCrop gt_patch_size')
    report = tool.check_dataset_cfg(dict(basic_cfg(pairs), pipeline=train))
    problem, = report.problems
    assert problem.path == osp.join(pairs, 'input', '2.png')
    assert problem.reason == (
        '6x8 (HxW) is smaller than the 8x8 training patch (PairedRandomCrop '
        f'gt_patch_size=8); its clean image is '
        f'{osp.join(pairs, "target", "2.png")}')
    # A test pipeline (no crop) takes any size.
    assert tool.check_dataset_cfg(basic_cfg(pairs)).ok
    # A clean-image set names its one file.
    clean = dict(type='CleanImageDataset', data_root=pairs,
                 data_prefix=dict(gt='target'),
                 pipeline=[dict(type='mmagic.CheckPairedSize', min_size=7)])
    problem, = tool.check_dataset_cfg(clean).problems
    assert problem.path == osp.join(pairs, 'target', '2.png')
    assert problem.reason == ('6x8 (HxW) is smaller than the 7x7 training '
                              'patch (CheckPairedSize min_size=7)')
    assert tool.patch_size_of(dict(pipeline=[dict(type='PackInputs')])) is None


# ---------------------------------------------------------------------------
# The mini benchmark's config on a fresh clone
# ---------------------------------------------------------------------------
def small_benchmark(monkeypatch):
    """A mini benchmark of 2 training photos, 2 pairs per training task and
    one test image per set (the full one takes about 30 s to build), as
    tests/test_datasets/test_mini_benchmark.py builds it."""
    monkeypatch.setattr(mb, 'TRAIN_PHOTOS', ('astronaut', 'camera'))
    monkeypatch.setattr(mb, 'TEST_PHOTOS', ('chelsea', ))
    monkeypatch.setattr(mb, 'NUM_TRAIN', {t: 2 for t in mb.TASKS})
    monkeypatch.setattr(mb, 'TEST_GRID', (1, 1))


def test_fresh_mini_config_builds_the_benchmark_and_passes(
        tool, repo_root, tmp_path, monkeypatch, capsys):
    """The README's main config in a fresh clone (no data folder): the
    check says it builds the mini benchmark, builds it through
    MiniBenchmarkDataset as training would, and finds it complete."""
    small_benchmark(monkeypatch)
    monkeypatch.chdir(tmp_path)
    cfg_path = osp.join(repo_root, MINI_CFG)
    cfg = Config.fromfile(cfg_path)
    num_train = len(cfg.train_dataloader.dataset.datasets)
    num_test = len(cfg.test_dataloader)
    assert tool.main([cfg_path, '--workers', '1']) == 0
    out = capsys.readouterr().out
    assert out.startswith('The mini benchmark is not built yet under '
                          'data/sler_ir_mini5: building it now')
    assert mb.read_manifest('data/sler_ir_mini5')['version'] == \
        mb.BENCHMARK_VERSION
    assert f'train: {num_train} dataset(s)' in out
    assert f'test: {num_test} dataset(s)' in out
    # The sets are named after the datasets the factory returns.
    assert '| derain+dehaze+lowlight | data/sler_ir_mini5: ' in out
    assert 'MiniBenchmarkDataset' not in out
    assert 'not found' not in out
    total = num_train + 2 * num_test
    assert out.rstrip().endswith(f'All {total} dataset(s) OK.')

    # Built once: a second check only checks, and names what was lost
    # (here the only degraded image of a set: its folder is empty).
    lost = next(osp.join(dirpath, name) for dirpath, _, names in
                sorted(os.walk('data/sler_ir_mini5/test'))
                for name in sorted(names) if name.endswith('.png'))
    os.remove(lost)
    assert tool.main([cfg_path, '--splits', 'test', '--no-decode']) == 1
    out = capsys.readouterr().out
    assert 'not built yet' not in out
    assert f'{osp.abspath(osp.dirname(lost))}' in out
    assert '1 problem(s) in 1 of ' in out
