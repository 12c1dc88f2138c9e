"""Folder layouts and repetition factors of the all-in-one protocols.

The values follow the code of PromptIR (3 tasks) and AdaIR (5 tasks), so a
user who has prepared their ``data/`` folder for either can point
``data_root`` at it. Paths are relative to one ``data_root`` that holds
``Train/`` and ``test/`` side by side, as AdaIR's ``data/`` does (PromptIR
keeps ``test/`` next to ``data/`` instead: use ``data_root='data'`` for the
training sets and the repository root for the test sets, or link
``data/test`` to it).

Each task entry has ``train`` (``data_prefix`` and the pairing arguments
of its dataset), ``test`` (one entry per test set), the training
``repeat`` factor (``RepeatDataset(times=...)``), the default
``degradation_label`` and the dataset ``type``. A plain-dict MMEngine
config (one with ``_base_``) may import the values; ``del`` the imported
name at the end so that it does not become a config key (a config without
``_base_`` is parsed in MMEngine's lazy-import mode, where the imported
dict cannot be indexed)::

    _base_ = '../_base_/default_runtime.py'
    from sler_ir_mm.datasets.layouts import PROMPTIR_LAYOUT
    derain = PROMPTIR_LAYOUT['derain']
    derain_train = dict(
        type='RepeatDataset', times=derain['repeat'],
        dataset=dict(type=derain['type'], task_name='derain',
                     degradation_label=derain['degradation_label'],
                     data_root='data', pipeline=train_pipeline,
                     **derain['train']))
    del PROMPTIR_LAYOUT, derain

Facts, and where they come from (PromptIR ``va1shn9v/PromptIR``: README,
INSTALL.md, options.py, utils/dataset_utils.py, test.py, data_dir/*.txt;
AdaIR ``c-yn/AdaIR``: INSTALL.md, options.py, utils/dataset_utils.py,
test.py):

- denoise: training images of BSD400 (400 ``.jpg``) and WED (4,744
  ``.bmp``) in one folder ``Train/Denoise``, optionally filtered by a list
  of 5,144 names (PromptIR's ``data_dir/noisy/denoise.txt``); every image
  is used once per sigma in {15, 25, 50}, each x3, Gaussian noise added to
  the uint8 patch and clipped to [0, 255]. Tests: ``test/denoise/bsd68``
  (CBSD68, and ``urban100``, AdaIR also ``kodak24``); PromptIR and AdaIR's
  test scripts evaluate sigma 15, 25 and 50. The 5-task tables of AdaIR /
  MoCE-IR report sigma 25 only (from the papers, not their code).
- derain: ``Train/Derain/rainy/rain-N.png`` -> ``Train/Derain/gt/
  norain-N.png`` (200 Rain100L training pairs in PromptIR's
  ``rainTrain.txt``), x120. Test: ``test/derain/Rain100L/input`` and
  ``target`` with the same file names.
- dehaze: ``Train/Dehaze/synthetic/part1..part4/<id>_<A>_<beta>.jpg`` ->
  ``Train/Dehaze/original/<id>.*`` (PromptIR's code keeps the hazy
  extension, AdaIR's INSTALL.md shows ``.png``; any extension is found),
  x1. PromptIR trains on the 72,135 hazy images of its
  ``data_dir/hazy/hazy_outside.txt`` (18,200 per part, 17,535 in part4),
  not on every OTS image: pass that list as ``ann_file`` (with
  ``data_prefix['img']='Train/Dehaze'``, as its lines start with
  ``synthetic/``) to train on the same subset. Test (SOTS outdoor):
  ``test/dehaze/input/<id>_<A>_<beta>.jpg`` -> ``test/dehaze/target/
  <id>.png``.
- deblur (AdaIR, 5 tasks): GoPro, ``Train/Deblur/blur`` and ``sharp`` with
  the same names, x5. Test ``test/deblur/gopro/input`` and ``target``.
- lowlight (AdaIR's ``enhance``, 5 tasks): LOL v1, ``Train/Enhance/low``
  and ``gt`` with the same names, x20. Test ``test/enhance/lol/input`` and
  ``target``. (LOL v1 as distributed: ``our485/low|high`` for training,
  ``eval15/low|high`` for test; see ``LOL_V1_LAYOUT``.)

PromptIR and AdaIR give every noise level its own label (denoise_15/25/50
= 0/1/2, derain 3, dehaze 4, deblur 5, enhance 6); SLER-IR's contrastive
loss uses one label per task (``TASK_LABELS``).
"""

# One label per task; the 3-task protocol uses the first three.
TASK_LABELS = dict(denoise=0, derain=1, dehaze=2, deblur=3, lowlight=4)
THREE_TASKS = ('denoise', 'derain', 'dehaze')
FIVE_TASKS = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')

# Noise levels: trained on all three in both protocols; tested on all
# three in the 3-task protocol and on sigma 25 in the 5-task protocol.
TRAIN_NOISE_SIGMAS = (15, 25, 50)
TEST_NOISE_SIGMAS = {3: (15, 25, 50), 5: (25, )}

PROMPTIR_LAYOUT = dict(
    denoise=dict(
        type='CleanImageDataset',
        degradation_label=TASK_LABELS['denoise'],
        repeat=3,  # per sigma
        train=dict(data_prefix=dict(gt='Train/Denoise')),
        test=dict(
            cbsd68=dict(data_prefix=dict(gt='test/denoise/bsd68')),
            urban100=dict(data_prefix=dict(gt='test/denoise/urban100')),
            kodak24=dict(data_prefix=dict(gt='test/denoise/kodak24')))),
    derain=dict(
        type='DegradationPairDataset',
        degradation_label=TASK_LABELS['derain'],
        repeat=120,
        train=dict(
            data_prefix=dict(img='Train/Derain/rainy', gt='Train/Derain/gt'),
            gt_name='rain'),
        test=dict(
            rain100l=dict(
                data_prefix=dict(
                    img='test/derain/Rain100L/input',
                    gt='test/derain/Rain100L/target'),
                gt_name='same'))),
    dehaze=dict(
        type='DegradationPairDataset',
        degradation_label=TASK_LABELS['dehaze'],
        repeat=1,
        train=dict(
            data_prefix=dict(
                img='Train/Dehaze/synthetic', gt='Train/Dehaze/original'),
            gt_name='haze',
            recursive=True),
        test=dict(
            sots_outdoor=dict(
                data_prefix=dict(
                    img='test/dehaze/input', gt='test/dehaze/target'),
                gt_name='haze'))),
    deblur=dict(
        type='DegradationPairDataset',
        degradation_label=TASK_LABELS['deblur'],
        repeat=5,
        train=dict(
            data_prefix=dict(img='Train/Deblur/blur', gt='Train/Deblur/sharp'),
            gt_name='same'),
        test=dict(
            gopro=dict(
                data_prefix=dict(
                    img='test/deblur/gopro/input',
                    gt='test/deblur/gopro/target'),
                gt_name='same'))),
    lowlight=dict(
        type='DegradationPairDataset',
        degradation_label=TASK_LABELS['lowlight'],
        repeat=20,
        train=dict(
            data_prefix=dict(img='Train/Enhance/low', gt='Train/Enhance/gt'),
            gt_name='same'),
        test=dict(
            lol=dict(
                data_prefix=dict(
                    img='test/enhance/lol/input',
                    gt='test/enhance/lol/target'),
                gt_name='same'))),
)

# LOL v1 as downloaded (relative to its own root, e.g. data/LOL).
LOL_V1_LAYOUT = dict(
    train=dict(data_prefix=dict(img='our485/low', gt='our485/high')),
    test=dict(data_prefix=dict(img='eval15/low', gt='eval15/high')))
