"""The embedded mini benchmark: five degradations and their mixes on
scikit-image's photos.

A small all-in-one benchmark that needs no download: the clean images are
crops of the sample photographs shipped inside the scikit-image wheel
(training and test crops come from different photographs), and the
degradations are synthesised with fixed seeds (see
:mod:`sler_ir_mm.datasets.synthetic_degradations`). It is written in the
PromptIR / AdaIR folder layout (``Train/...`` and ``test/...``), so the
same dataset classes and pipelines read it as read the real data:

==========  ===============================  ================================
task        training pairs                   test pairs
==========  ===============================  ================================
denoise     ``Train/Denoise`` (clean, noise  ``test/denoise/mini`` (clean,
            added on the fly at 15/25/50)    sigma 25 added with a seed)
derain      ``Train/Derain/rainy/rain-*``    ``test/derain/mini/input``
            -> ``Train/Derain/gt/norain-*``  -> ``target``
dehaze      ``Train/Dehaze/synthetic/part1/  ``test/dehaze/mini/input/
            <id>_<A>_<beta>.png`` ->         <id>_<A>_<beta>.png`` ->
            ``Train/Dehaze/original/<id>``   ``target/<id>.png``
deblur      ``Train/Deblur/blur`` -> sharp   ``test/deblur/mini/input``
lowlight    ``Train/Enhance/low`` -> ``gt``  ``test/enhance/mini/input``
mixes       ``Train/Mix/<mix>/input`` ->     ``test/mix/<mix>/input`` ->
            ``target`` (the ``mini_cdd``     ``target``
            protocol trains on them)
==========  ===============================  ================================

Version 2 (this one) tests on 24 images per set, the same 6 non-overlapping
128 x 128 crops of each of 4 photographs in every set (so sets differ in
their degradation, not their content), has a stronger motion blur, and
adds five composite sets (:data:`MIXES`), synthesised in the physical
order of :func:`~sler_ir_mm.datasets.synthetic_degradations.compose`.
A composite's task name joins its components' task names with ``'+'``.

The build is deterministic: the same scikit-image and OpenCV give the same
bytes. It writes into a temporary folder and renames it into place, and a
``MANIFEST.json`` (version, file list with SHA-256) is written last, so a
folder with a manifest is complete; concurrent builders (several training
processes) wait on a lock file. Use :func:`build_mini_benchmark` or
``python tools/misc/build_mini_benchmark.py data/sler_ir_mini5``; configs
wrap their datasets in ``MiniBenchmarkDataset``, which builds the data
when it is missing.
"""
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmagic.registry import DATASETS

from sler_ir_mm.utils.file_lock import file_lock
from .layouts import PROMPTIR_LAYOUT, TASK_LABELS
from .synthetic_degradations import DEGRADATIONS, compose

BENCHMARK_VERSION = 2
MANIFEST = 'MANIFEST.json'
BASE_SEED = 20241126

# Photographs of scikit-image 0.19+ that ship inside the wheel (no pooch
# download). 'cat' is 'chelsea', and the two stereo_motorcycle views show
# one scene, so only the left view is used. Grayscale photos are turned
# into 3-channel images; they add texture (bricks, gravel, grass, a page of
# text). 'clock' is left out: it is motion-blurred. The test photos are
# four everyday scenes of varied content (an animal with fur, a rocket on
# a launch pad outdoors, a cup on a table, a man with a camera on a lawn,
# the last one gray); no training crop comes from them.
TRAIN_PHOTOS = ('astronaut', 'stereo_motorcycle', 'hubble_deep_field',
                'immunohistochemistry', 'retina', 'coins', 'brick', 'gravel',
                'grass', 'moon', 'page')
TEST_PHOTOS = ('chelsea', 'rocket', 'coffee', 'camera')

TRAIN_CROP, TEST_CROP = 96, 128
# Short side of a training photo after downscaling, before cropping.
TRAIN_SHORT_SIDE = 192
# Each test photo is scaled to cover TEST_GRID crops (rows, columns),
# center-cropped and cut into them: 6 non-overlapping test images a photo.
TEST_GRID = (2, 3)
# Denoising's clean crops are used once per training sigma (15, 25, 50), so
# each task sees 48 training samples per epoch; so does each mix.
NUM_TRAIN_PER_TASK = 48
NUM_TRAIN = dict(denoise=16, derain=48, dehaze=48, deblur=48, lowlight=48)
TEST_NOISE_SIGMA = 25

# Composite sets: task name (components in the order they are applied) ->
# folder under Train/Mix and test/mix, and the set name in result tables.
MIXES = {
    'derain+dehaze': ('rain_haze', 'Rain+Haze'),
    'derain+deblur': ('rain_blur', 'Rain+Blur'),
    'dehaze+lowlight': ('haze_lowlight', 'Haze+LowLight'),
    'lowlight+denoise': ('lowlight_noise', 'LowLight+Noise'),
    'derain+dehaze+lowlight': ('rain_haze_lowlight', 'Rain+Haze+LowLight'),
}
MIX_TASKS = tuple(MIXES)
# Labels of the mixes when training sees them as classes of their own
# (CDD-11 style), after the five single tasks' 0..4.
MIX_LABELS = {
    mix: len(TASK_LABELS) + i for i, mix in enumerate(MIX_TASKS)
}

# Folders relative to the benchmark root: PROMPTIR_LAYOUT's training
# folders and pairing (so the same datasets read it), each task once per
# epoch, and one test set per task, 'mini', under test/<task folder>/mini.
_MINI_TEST = dict(
    denoise=dict(data_prefix=dict(gt='test/denoise/mini')),
    derain=dict(
        data_prefix=dict(
            img='test/derain/mini/input', gt='test/derain/mini/target'),
        gt_name='same'),
    dehaze=dict(
        data_prefix=dict(
            img='test/dehaze/mini/input', gt='test/dehaze/mini/target'),
        gt_name='haze'),
    deblur=dict(
        data_prefix=dict(
            img='test/deblur/mini/input', gt='test/deblur/mini/target'),
        gt_name='same'),
    lowlight=dict(
        data_prefix=dict(
            img='test/enhance/mini/input', gt='test/enhance/mini/target'),
        gt_name='same'),
)
MINI_LAYOUT = {
    task: dict(
        PROMPTIR_LAYOUT[task],
        repeat=1,
        train=copy.deepcopy(PROMPTIR_LAYOUT[task]['train']),
        test=dict(mini=test))
    for task, test in _MINI_TEST.items()
}
SINGLE_TASKS = tuple(MINI_LAYOUT)
for _mix, (_folder, _) in MIXES.items():
    MINI_LAYOUT[_mix] = dict(
        type='DegradationPairDataset',
        degradation_label=MIX_LABELS[_mix],
        repeat=1,
        train=dict(
            data_prefix=dict(
                img=f'Train/Mix/{_folder}/input',
                gt=f'Train/Mix/{_folder}/target'),
            gt_name='same'),
        test=dict(
            mini=dict(
                data_prefix=dict(
                    img=f'test/mix/{_folder}/input',
                    gt=f'test/mix/{_folder}/target'),
                gt_name='same')))
del _mix, _folder
# Singles first: a task's index seeds its crops and degradations.
TASKS = tuple(MINI_LAYOUT)
# Names of the sets in result tables (the metric prefix); a composite's
# joins its components' with '+'.
MINI_SET_NAMES = dict(
    denoise='Noise', derain='Rain', dehaze='Haze', deblur='Blur',
    lowlight='LowLight', **{mix: name for mix, (_, name) in MIXES.items()})


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 scikit-image sample photo (gray ones as 3 channels)."""
    try:
        import skimage.data
    except ImportError as err:
        raise ImportError(
            'the mini benchmark is built from scikit-image\'s sample photos: '
            'pip install scikit-image') from err
    img = getattr(skimage.data, name)()
    if name == 'stereo_motorcycle':
        img = img[0]
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.dtype != np.uint8 or img.shape[2] != 3:
        raise ValueError(f'scikit-image photo {name!r} is {img.dtype} '
                         f'{img.shape}, expected RGB uint8')
    return img


def _downscale(img: np.ndarray, short_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    scale = short_side / min(h, w)
    size = (max(short_side, round(w * scale)), max(short_side,
                                                   round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    return img[top:top + size, left:left + size]


def _test_grid(img: np.ndarray) -> List[np.ndarray]:
    """The photo scaled to cover the test grid, center-cropped and cut into
    its non-overlapping TEST_CROP x TEST_CROP cells, row by row."""
    rows, cols = TEST_GRID
    out_h, out_w = rows * TEST_CROP, cols * TEST_CROP
    h, w = img.shape[:2]
    scale = max(out_h / h, out_w / w)
    size = (max(out_w, round(w * scale)), max(out_h, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    img = cv2.resize(img, size, interpolation=interp)
    top = (img.shape[0] - out_h) // 2
    left = (img.shape[1] - out_w) // 2
    img = img[top:top + out_h, left:left + out_w]
    return [
        img[r * TEST_CROP:(r + 1) * TEST_CROP,
            c * TEST_CROP:(c + 1) * TEST_CROP]
        for r in range(rows) for c in range(cols)
    ]


def _crops(photos: Dict[str, np.ndarray], split: str,
           task: str) -> Iterator[Tuple[str, np.ndarray,
                                        np.random.Generator]]:
    """(name, crop, rng) of one task's split; the rng then degrades it.

    Training crops are random, drawn per task; the test crops are the same
    grid cells of every test photo in every set.
    """
    names = list(photos)
    if split == 'train':
        n = NUM_TRAIN.get(task, NUM_TRAIN_PER_TASK)
        cells = None
    else:
        cells = {name: _test_grid(photos[name]) for name in names}
        n = len(names) * len(cells[names[0]])
    for k in range(n):
        rng = np.random.default_rng(
            [BASE_SEED, TASKS.index(task), split == 'test', k])
        if cells is None:
            photo = names[k % len(names)]
            crop = _crop(photos[photo], TRAIN_CROP, rng)
        else:
            per_photo = len(cells[names[0]])
            photo = names[k // per_photo]
            crop = cells[photo][k % per_photo]
        # Names carry no underscore: the haze pairing cuts at the first one.
        yield f'{photo.replace("_", "")}-{k:03d}', crop, rng


def _to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0, 1) * 255.0).astype(np.uint8)


def _write(path: str, rgb: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    # Fixed PNG settings: the same array gives the same bytes.
    ok = cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                     [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise OSError(f'could not write {path!r}')


def _pair_names(task: str, split: str, name: str,
                params: Dict[str, float]) -> Tuple[str, str]:
    """Degraded and clean file stems in the task's naming convention."""
    if task == 'derain' and split == 'train':
        return f'rain-{name}', f'norain-{name}'
    if task == 'dehaze':
        return (f'{name}_{params["airlight"]:.2f}_{params["beta"]:.2f}',
                name)
    return name, name


def _write_split(root: str, photos: Dict[str, np.ndarray], split: str,
                 params_log: Dict[str, dict]) -> None:
    for task in TASKS:
        entry = MINI_LAYOUT[task][split]
        entry = (entry if split == 'train' else entry['mini'])['data_prefix']
        for name, clean, rng in _crops(photos, split, task):
            if task == 'denoise':
                _write(osp.join(root, entry['gt'], f'{name}.png'), clean)
                continue
            if task in MIXES:
                degraded, params = compose(
                    _to_float(clean), task.split('+'), rng)
            else:
                degraded, params = DEGRADATIONS[task](_to_float(clean), rng)
            lq_stem, gt_stem = _pair_names(task, split, name, params)
            lq_folder = entry['img']
            if task == 'dehaze' and split == 'train':
                lq_folder = osp.join(lq_folder, 'part1')
            _write(osp.join(root, lq_folder, f'{lq_stem}.png'),
                   _to_uint8(degraded))
            _write(osp.join(root, entry['gt'], f'{gt_stem}.png'), clean)
            params_log[f'{split}/{task}/{lq_stem}'] = params


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _file_list(root: str) -> List[str]:
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            rel = osp.relpath(osp.join(folder, name), root)
            if rel != MANIFEST:
                files.append(rel.replace(os.sep, '/'))
    return sorted(files)


def read_manifest(root: str) -> Optional[dict]:
    """The benchmark's manifest, or None if ``root`` has none."""
    path = osp.join(root, MANIFEST)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _write_benchmark(root: str) -> None:
    train = {name: _downscale(load_photo(name), TRAIN_SHORT_SIDE)
             for name in TRAIN_PHOTOS}
    test = {name: load_photo(name) for name in TEST_PHOTOS}
    params: Dict[str, dict] = {}
    _write_split(root, train, 'train', params)
    _write_split(root, test, 'test', params)
    with open(osp.join(root, 'degradation_params.json'), 'w') as f:
        json.dump(params, f, indent=1, sort_keys=True)
    import skimage
    manifest = dict(
        name='sler_ir_mm mini 5-task benchmark with composites',
        version=BENCHMARK_VERSION,
        train_photos=list(TRAIN_PHOTOS),
        test_photos=list(TEST_PHOTOS),
        test_grid=list(TEST_GRID),
        mixes={mix: folder for mix, (folder, _) in MIXES.items()},
        test_noise_sigma=TEST_NOISE_SIGMA,
        scikit_image=skimage.__version__,
        opencv=cv2.__version__,
        files={rel: _sha256(osp.join(root, rel))
               for rel in _file_list(root)})
    with open(osp.join(root, MANIFEST), 'w') as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


def build_mini_benchmark(root: str, force: bool = False) -> str:
    """Build the mini benchmark under ``root`` unless it is already there.

    Args:
        root (str): Folder to create (its parent may exist).
        force (bool): Rebuild even if ``root`` holds a complete benchmark
            of this version. Default: False.

    Returns:
        str: ``root``.

    Raises:
        FileExistsError: ``root`` exists but holds no benchmark manifest
            (it is not deleted: it may be someone's data).
    """
    with file_lock(root):
        manifest = read_manifest(root)
        if manifest is not None and not force and \
                manifest.get('version') == BENCHMARK_VERSION:
            return root
        if osp.exists(root) and manifest is None:
            raise FileExistsError(
                f'{osp.abspath(root)!r} exists but is not a mini benchmark '
                f'(no {MANIFEST}); remove it or choose another folder')
        tmp = f'{osp.abspath(root)}.tmp-{os.getpid()}'
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            _write_benchmark(tmp)
            if osp.exists(root):  # an older version or force
                shutil.rmtree(root)
            os.replace(tmp, root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


@DATASETS.register_module(name='MiniBenchmarkDataset')
def mini_benchmark_dataset(dataset: dict,
                           benchmark_root: Optional[str] = None):
    """Build ``dataset`` after making sure the mini benchmark exists.

    A dataset "wrapper" for configs: ``dict(type='MiniBenchmarkDataset',
    dataset=dict(type='DegradationPairDataset', data_root=..., ...))``
    builds the benchmark under ``benchmark_root`` (default: the dataset's
    ``data_root``) if it has no complete copy there, then builds and
    returns the wrapped dataset itself (not a wrapper object).

    Args:
        dataset (dict): Config of the dataset to build.
        benchmark_root (str, optional): The benchmark's folder. Default:
            ``dataset['data_root']``.
    """
    root = benchmark_root or dataset.get('data_root')
    if not root:
        raise ValueError('MiniBenchmarkDataset needs benchmark_root or a '
                         'data_root in its dataset config')
    build_mini_benchmark(root)
    return DATASETS.build(dataset)
