"""tools/misc/check_dataset.py on the smoke data, clean and broken."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from make_smoke_pairs import make_smoke_pairs
from tool_runner import load_tool, run_tool

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
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
