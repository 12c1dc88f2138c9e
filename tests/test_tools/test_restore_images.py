"""tools/restore_images.py on a folder of mixed images (tiny random model)."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from tool_runner import load_tool, run_tool

from sler_ir_mm.apis import init_restorer, read_image, restore_image

SLER_CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')
RESTORMER_CFG = osp.join('configs', 'smoke', 'restormer_smoke.py')


def load_restore_tool(repo_root):
    return load_tool(repo_root, osp.join('tools', 'restore_images.py'))


@pytest.fixture(scope='module')
def tool(repo_root):
    return load_restore_tool(repo_root)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    # Tiny models: threads only wait on each other on a shared machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def ckpt(repo_root, tmp_path_factory):
    torch.manual_seed(0)
    model = init_restorer(osp.join(repo_root, SLER_CFG))
    path = str(tmp_path_factory.mktemp('ckpt') / 'sler_smoke.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.fixture(scope='module')
def model(repo_root, ckpt):
    """The model the tool restores with, built here from the same files."""
    return init_restorer(osp.join(repo_root, SLER_CFG), ckpt)


def assert_restored_by(model, out_file, in_file, **tiling):
    """The tool's output file is ``restore_image`` of the input file (to
    within one level: PNG is lossless) and not the input."""
    written = cv2.imread(str(out_file), cv2.IMREAD_UNCHANGED)
    # OpenCV writes and reads B, G, R(, A): the layout of channel_order='bgr'.
    expected = restore_image(model, str(in_file), channel_order='bgr',
                             **tiling).image
    assert written.shape == expected.shape and written.dtype == np.uint8
    worst = int(np.abs(written.astype(int) - expected.astype(int)).max())
    assert worst <= 1, (out_file, worst)
    source = read_image(str(in_file), channel_order='bgr')
    source = source / (257. if source.dtype == np.uint16 else 1.)

    def color(img):  # without the alpha, which the tool passes through
        return img if img.ndim == 2 else img[..., :3]

    changed = float(np.abs(color(written) - color(source)).mean())
    assert changed > 5, (out_file, changed)
    return written


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """A folder with color, gray, RGBA, 16-bit, nested and broken images."""
    root = tmp_path_factory.mktemp('photos')
    rng = np.random.default_rng(0)
    cv2.imwrite(
        str(root / 'color.jpg'), rng.integers(0, 256, (21, 30, 3), np.uint8))
    cv2.imwrite(
        str(root / 'gray.png'), rng.integers(0, 256, (17, 19), np.uint8))
    rgba = rng.integers(0, 256, (18, 16, 4), np.uint8)
    cv2.imwrite(str(root / 'rgba.png'), rgba)
    cv2.imwrite(
        str(root / 'deep16.png'), rng.integers(0, 65536, (16, 20, 3),
                                               np.uint16))
    (root / 'sub').mkdir()
    cv2.imwrite(
        str(root / 'sub' / 'nested.png'),
        rng.integers(0, 256, (16, 18, 3), np.uint8))
    (root / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    (root / 'notes.txt').write_text('not an image')
    return root, rgba[..., 3]


def test_folder_run_goes_on_past_a_broken_file(repo_root, ckpt, photos, model,
                                               tmp_path, monkeypatch):
    root, alpha = photos
    out = tmp_path / 'out'
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    log = run_tool(
        repo_root,
        repo_root,
        osp.join('tools', 'restore_images.py'),
        SLER_CFG,
        ckpt,
        str(root),
        '--out-dir',
        str(out),
        '--recursive',
        '--show-route',
        timeout=300,
        expect_code=1)
    assert 'broken.png' in log and 'cannot read image file' in log
    assert 'restored 5 of 6 image(s)' in log

    def read(name):
        return cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)

    # Each output is the model's restoration of its input.
    for name, source in [('color.png', 'color.jpg'), ('gray.png', None),
                         ('rgba.png', None), ('deep16.png', None),
                         (osp.join('sub', 'nested.png'), None)]:
        assert_restored_by(model, out / name, root / (source or name))
    assert read('color.png').shape == (21, 30, 3)
    assert read('gray.png').shape == (17, 19)
    rgba = read('rgba.png')
    assert rgba.shape == (18, 16, 4)
    np.testing.assert_array_equal(rgba[..., 3], alpha)
    deep = read('deep16.png')
    assert deep.dtype == np.uint8 and deep.shape == (16, 20, 3)
    assert read(osp.join('sub', 'nested.png')).shape == (16, 18, 3)
    assert not (out / 'broken.png').exists()
    assert not (out / 'notes.png').exists()

    routes = json.loads((out / 'routes.json').read_text())
    assert sorted(routes) == sorted([
        'color.jpg', 'deep16.png', 'gray.png', 'rgba.png',
        osp.join('sub', 'nested.png')
    ])
    assert all(
        len(r) == 8 and 0 <= min(r) and max(r) < 3 for r in routes.values())
    # What the model recognised, per image, beside the outputs.
    recognition = json.loads((out / 'recognition.json').read_text())
    assert sorted(recognition) == sorted(routes)
    for rel, rec in recognition.items():
        assert rec['route'] == routes[rel] and rec['source'] == 'centers'
        assert rec['path'] == '-'.join(map(str, routes[rel]))
    assert 'color.jpg: no degradation names' in log
    figure = read('color_route.png')
    assert figure is not None and figure.ndim == 3
    assert (out / 'sub' / 'nested_route.png').is_file()


def test_single_file_tiled_in_process(tool, repo_root, ckpt, photos, model,
                                      tmp_path):
    root, _ = photos
    image = root / 'color.jpg'

    def run(out, *tiling):
        code = tool.main([
            osp.join(repo_root, SLER_CFG), ckpt,
            str(image), '--out-dir',
            str(out), *tiling, '--device', 'cpu'
        ])
        assert code == 0
        assert not (out / 'routes.json').exists()
        return out / 'color.png'

    whole = assert_restored_by(model, run(tmp_path / 'whole'), image)
    # --tile reaches the model: the tool's output is restore_image's in
    # 16-pixel tiles, which differs from the one-piece restoration.
    tiled = assert_restored_by(
        model, run(tmp_path / 'tiled', '--tile', '16', '--tile-overlap',
                   '4'), image, tile=16, tile_overlap=4)
    assert tiled.shape == (21, 30, 3)
    # Measured: a mean difference of 5.3 levels, 70% of values off by > 1.
    off = np.abs(tiled.astype(int) - whole.astype(int))
    assert (off > 1).mean() > 0.3, (off > 1).mean()


def test_glob_input_and_name_clashes(tool, photos, tmp_path):
    root, _ = photos
    files, base = tool.collect_inputs(str(root / '*.png'), recursive=False)
    assert [osp.basename(f) for f in files
            ] == ['broken.png', 'deep16.png', 'gray.png', 'rgba.png']
    assert base == str(root)
    files, _ = tool.collect_inputs(str(root / '**' / '*.png'), recursive=True)
    assert osp.join(str(root), 'sub', 'nested.png') in files
    with pytest.raises(SystemExit, match='input not found'):
        tool.collect_inputs(str(tmp_path / 'nothing'), recursive=False)
    with pytest.raises(SystemExit, match='no images found'):
        tool.collect_inputs(str(tmp_path), recursive=False)
    names = tool.output_names(['d/a.jpg', 'd/a.png', 'd/b.png'], 'd')
    assert names == {'d/a.jpg': 'a_jpg', 'd/a.png': 'a_png', 'd/b.png': 'b'}


def test_refuses_bad_setups(tool, repo_root, ckpt, photos, tmp_path):
    root, _ = photos
    sler_cfg = osp.join(repo_root, SLER_CFG)
    image = str(root / 'gray.png')
    with pytest.raises(SystemExit, match='overwrite the input'):
        tool.main([sler_cfg, ckpt, image, '--out-dir', str(root)])
    with pytest.raises(SystemExit, match='checkpoint file not found'):
        tool.main([
            sler_cfg, ckpt + '.missing', image, '--out-dir',
            str(tmp_path / 'o')
        ])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match='CUDA is not available'):
            tool.main([
                sler_cfg, ckpt, image, '--out-dir',
                str(tmp_path / 'o'), '--device', 'cuda'
            ])
    # A checkpoint of another model is refused, not half loaded.
    restormer_cfg = osp.join(repo_root, RESTORMER_CFG)
    with pytest.raises(SystemExit, match='cannot build the model'):
        tool.main(
            [restormer_cfg, ckpt, image, '--out-dir',
             str(tmp_path / 'o')])
    # A plain MMagic model restores, but has no route to show.
    restormer_ckpt = str(tmp_path / 'restormer.pth')
    torch.save({'state_dict': init_restorer(restormer_cfg).state_dict()},
               restormer_ckpt)
    with pytest.raises(SystemExit, match='does not route'):
        tool.main([
            restormer_cfg, restormer_ckpt, image, '--out-dir',
            str(tmp_path / 'o'), '--show-route'
        ])
    with pytest.raises(SystemExit):
        tool.parse_args(
            [sler_cfg, ckpt, image, '--out-dir', 'o', '--tile', '4'])
    with pytest.raises(SystemExit):
        tool.parse_args([
            sler_cfg, ckpt, image, '--out-dir', 'o', '--tile', '16',
            '--tile-overlap', '16'
        ])
    # The default overlap fits small tiles.
    assert tool.parse_args(
        [sler_cfg, ckpt, image, '--out-dir', 'o', '--tile',
         '16']).tile_overlap == 4


def test_every_bad_kind_in_one_folder(tool, repo_root, ckpt, tmp_path,
                                      capsys):
    """Good files after bad ones are still restored; each bad one is
    reported with its reason, and the exit code is 1."""
    root = tmp_path / 'mixed'
    root.mkdir()
    rng = np.random.default_rng(1)
    (root / 'a_empty.png').write_bytes(b'')
    cv2.imwrite(str(root / 'b_1x1.png'), rng.integers(0, 256, (1, 1, 3),
                                                      np.uint8))
    (root / 'c_text.png').write_text('not an image, despite its name')
    cv2.imwrite(str(root / 'd_wide.png'),
                rng.integers(0, 256, (32, 2000, 3), np.uint8))
    ok, data = cv2.imencode('.jpg', rng.integers(0, 256, (24, 24, 3),
                                                 np.uint8))
    (root / 'e_truncated.jpg').write_bytes(data.tobytes()[:300])
    cv2.imwrite(str(root / 'f_7x5.png'), rng.integers(0, 256, (7, 5),
                                                      np.uint8))
    cv2.imwrite(str(root / 'g_16bit.png'),
                rng.integers(0, 65536, (16, 19, 4), np.uint16))
    cv2.imwrite(str(root / 'h_gray.png'), rng.integers(0, 256, (20, 16),
                                                       np.uint8))
    out = tmp_path / 'out'
    code = tool.main([
        osp.join(repo_root, SLER_CFG), ckpt,
        str(root), '--out-dir',
        str(out), '--device', 'cpu'
    ])
    assert code == 1
    captured = capsys.readouterr()
    assert 'restored 3 of 8 image(s)' in captured.out
    report = captured.err[captured.err.index('5 image(s) failed:'):]
    assert report.splitlines() == [
        '5 image(s) failed:',
        f'  {root / "a_empty.png"}: UnreadableImageError: cannot read image '
        f'file {root / "a_empty.png"}: empty file (0 bytes)',
        f'  {root / "b_1x1.png"}: ImageTooSmallError: {root / "b_1x1.png"}: '
        'image is 1 x 1 pixels; the model needs at least 16 x 16',
        f'  {root / "c_text.png"}: UnreadableImageError: cannot read image '
        f'file {root / "c_text.png"}: not a decodable image (30 bytes): '
        'truncated, corrupt or an unknown format',
        f'  {root / "e_truncated.jpg"}: UnreadableImageError: cannot read '
        f'image file {root / "e_truncated.jpg"}: not a decodable image '
        '(300 bytes): truncated, corrupt or an unknown format',
        f'  {root / "f_7x5.png"}: ImageTooSmallError: {root / "f_7x5.png"}: '
        'image is 5 x 7 pixels; the model needs at least 16 x 16',
    ]

    def read(name):
        return cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)

    assert read('d_wide.png').shape == (32, 2000, 3)
    assert read('h_gray.png').shape == (20, 16)  # gray stays gray
    deep = read('g_16bit.png')  # 16-bit RGBA -> 8-bit RGBA
    assert deep.dtype == np.uint8 and deep.shape == (16, 19, 4)
    assert sorted(p.name for p in out.iterdir()) == [
        'd_wide.png', 'g_16bit.png', 'h_gray.png', 'recognition.json'
    ]
