"""Runtime fixes for MMagic 1.2.0 / MMEngine 0.10.7 on numpy 2 and torch>=2.6.

It holds the fixes of third-party code that every use of the package needs
(the tools' allocator setting, :mod:`sler_ir_mm.utils.cpu_allocator`, and
the stage-switch hook's loop counters are the other two places that reach
into third-party internals). It is imported first by
``sler_ir_mm/__init__.py`` so that the fixes are in place before anything
imports ``mmagic``. Each fix is idempotent and does nothing
on a stack that does not need it.

1. ``np.bool8`` was removed in numpy 2, and ``mmagic/utils/trans_utils.py``
   still uses it: alias it to ``np.bool_``.
2. torch>=2.6 makes ``torch.load`` default to ``weights_only=True``, while
   MMEngine 0.10.7 calls it without that argument, so resuming fails with
   ``Unsupported global: ... HistoryBuffer``. Rather than turning safe loading
   off, we allow-list the few classes an MMEngine checkpoint holds (its message
   hub's ``HistoryBuffer`` and the numpy scalars/arrays inside it), and
   MMEngine's local checkpoint loader also allows ``getattr``, which a
   ``HistoryBuffer``'s state needs, while it loads
   (:func:`sler_ir_mm.utils.checkpoint_io.mmengine_checkpoint_globals`; not
   process-wide).
3. MMEngine writes a checkpoint straight to its final name, so a process
   killed mid-write (SIGKILL, OOM killer, preemption) leaves a truncated
   ``epoch_N.pth`` next to the good ones, which ``tools/test.py`` or
   ``--resume epoch_N.pth`` then trip over. Local checkpoints are written to
   ``<name>.tmp``, flushed to disk and renamed: a checkpoint file is always
   complete, and ``last_checkpoint`` (written after the save returns) only
   ever names complete files, also after a power cut.
4. ``import mmagic.apis`` (MMagic's inferencers) imports ``controlnet_aux``,
   whose MediaPipe face module calls ``mediapipe.solutions`` whenever
   ``import mediapipe`` succeeds; mediapipe>=0.10.30 (MMagic pulls 1.x)
   has no ``solutions``, so the import fails with ``AttributeError``.
   controlnet_aux already runs without mediapipe (that one detector is then
   unusable), so while that module (only) executes, a mediapipe without
   ``solutions`` is hidden from it; mediapipe stays importable for
   everything else.
5. ``MMagicInferencer(model_name='restormer')`` fails with ``Unknown
   inferencer task: Deraining``: MMagic 1.2.0's restormer metafile names a
   task its dispatch does not know. The task is corrected to the
   Restormer-like one the dispatch sends to the image restoration
   inferencer.

Fixes 4 and 5 run when their module is imported (an import hook), so that
``import sler_ir_mm`` imports neither ``mmagic.apis`` nor mediapipe.
"""
import importlib.abc
import os
import os.path as osp
import sys
import warnings

import numpy as np
import torch

__all__ = [
    'apply_runtime_fixes', 'CONTROLNET_AUX_MEDIAPIPE_MODULE',
    'MMAGIC_INFERENCER_MODULE', 'MMENGINE_CHECKPOINT_SAFE_GLOBALS'
]


def _numpy_bool8_alias() -> None:
    if not hasattr(np, 'bool8'):
        np.bool8 = np.bool_


def _numpy_pickle_globals() -> list:
    """numpy objects that pickled arrays and scalars reference."""
    try:  # numpy 2
        from numpy._core import multiarray
    except ImportError:  # numpy 1
        from numpy.core import multiarray
    dtype_classes = {
        type(np.dtype(code))
        for code in ('?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q',
                     'e', 'f', 'd', 'g', 'U', 'S', 'O')
    }
    return [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar,
            *sorted(dtype_classes, key=lambda c: c.__name__)]


def _safe_globals() -> list:
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, *_numpy_pickle_globals()]


def _allow_mmengine_checkpoints() -> None:
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch<2.4 has no weights_only default
        return
    add_safe_globals(_safe_globals())
    _scope_getattr_to_mmengine_loads()


def _scope_getattr_to_mmengine_loads() -> None:
    """MMEngine's loader of local checkpoints (``load_from``, resume) runs
    under ``mmengine_checkpoint_globals``."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from sler_ir_mm.utils.checkpoint_io import mmengine_checkpoint_globals
    local = CheckpointLoader._schemes['']
    if getattr(local, 'sler_ir_scoped', False):
        return

    def load_local_checkpoint(filename, map_location):
        with mmengine_checkpoint_globals():
            return local(filename, map_location)

    load_local_checkpoint.sler_ir_scoped = True
    load_local_checkpoint.__wrapped__ = local
    CheckpointLoader.register_scheme('', load_local_checkpoint, force=True)


def _fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable (POSIX; a no-op elsewhere)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic(save_checkpoint):
    """Wrap MMEngine's ``save_checkpoint``: temporary file, fsync, rename."""

    def atomic_save_checkpoint(checkpoint,
                               filename,
                               file_client_args=None,
                               backend_args=None) -> None:
        filename = os.fspath(filename)
        # Only plain local paths can be renamed; other backends (pavi://,
        # s3://, ...) and custom backend arguments keep MMEngine's path.
        if '://' in filename or file_client_args is not None or \
                backend_args is not None:
            return save_checkpoint(checkpoint, filename, file_client_args,
                                   backend_args)
        tmp = filename + '.tmp'
        try:
            save_checkpoint(checkpoint, tmp)
            # Append mode: writable (Windows' fsync needs it), no truncation.
            with open(tmp, 'ab') as f:
                os.fsync(f.fileno())
            os.replace(tmp, filename)
        except BaseException:
            # A failed save (disk full, Ctrl-C) leaves no partial file.
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        _fsync_dir(osp.dirname(osp.abspath(filename)))

    atomic_save_checkpoint.sler_ir_atomic = True
    atomic_save_checkpoint.__wrapped__ = save_checkpoint
    atomic_save_checkpoint.__doc__ = save_checkpoint.__doc__
    return atomic_save_checkpoint


def _atomic_checkpoint_writes() -> None:
    import mmengine.runner as runner_pkg
    from mmengine.runner import checkpoint, runner
    if getattr(checkpoint.save_checkpoint, 'sler_ir_atomic', False):
        return
    atomic = _atomic(checkpoint.save_checkpoint)
    # Runner.save_checkpoint calls the name bound in runner.py; the
    # CheckpointHook and the strategies import it from the package or from
    # runner/checkpoint.py when they run.
    for module in (checkpoint, runner, runner_pkg):
        module.save_checkpoint = atomic


#: The controlnet_aux module that calls ``mediapipe.solutions`` at import.
CONTROLNET_AUX_MEDIAPIPE_MODULE = \
    'controlnet_aux.mediapipe_face.mediapipe_face_common'
#: The module of MMagic's ``MMagicInferencer``.
MMAGIC_INFERENCER_MODULE = 'mmagic.apis.mmagic_inferencer'
# MMagic 1.2.0's restormer metafile gives the task 'Deraining', which its
# task dispatch (mmagic/apis/inferencers/__init__.py) does not know; the
# dispatch's Restormer-like task sends it to the image restoration
# inferencer, as NAFNet's 'Image Restoration' does.
_INFERENCER_TASK_FIXES = {
    'restormer': ('Deraining', 'Denoising, Deblurring, Deraining')
}


def _mediapipe_lacks_solutions() -> bool:
    try:
        import mediapipe
    except ImportError:  # controlnet_aux handles a missing mediapipe
        return False
    return not hasattr(mediapipe, 'solutions')


def _exec_hiding_mediapipe(loader: importlib.abc.Loader, module) -> None:
    """Execute controlnet_aux's MediaPipe module as if a mediapipe without
    ``solutions`` were not installed (``sys.modules['mediapipe'] = None``
    makes ``import mediapipe`` raise ``ImportError``), then put it back."""
    if not _mediapipe_lacks_solutions():
        loader.exec_module(module)
        return
    mediapipe = sys.modules['mediapipe']
    sys.modules['mediapipe'] = None
    try:
        with warnings.catch_warnings():
            # Its "mediapipe is not installed" would mislead.
            warnings.filterwarnings(
                'ignore', message="The module 'mediapipe' is not")
            loader.exec_module(module)
    finally:
        sys.modules['mediapipe'] = mediapipe
    warnings.warn(
        f'mediapipe {getattr(mediapipe, "__version__", "")} has no '
        '`solutions` API (removed in 0.10.30), so controlnet_aux\'s '
        'MediapipeFaceDetector is disabled; the rest of controlnet_aux and '
        'MMagic\'s inferencers work (sler_ir_mm.compat).')


def _fix_inferencer_tasks(inferencer_cls: type) -> None:
    """Correct the tasks read from MMagic's metafiles (once, when
    ``MMagicInferencer`` first reads them)."""
    init = inferencer_cls.init_inference_supported_models_cfg
    if getattr(init, 'sler_ir_fixed', False):
        return

    def init_inference_supported_models_cfg() -> None:
        init()
        cfgs = inferencer_cls.inference_supported_models_cfg
        for name, (wrong, right) in _INFERENCER_TASK_FIXES.items():
            if cfgs.get(name, {}).get('task') == wrong:
                cfgs[name]['task'] = right

    init_inference_supported_models_cfg.sler_ir_fixed = True
    init_inference_supported_models_cfg.__wrapped__ = init
    inferencer_cls.init_inference_supported_models_cfg = staticmethod(
        init_inference_supported_models_cfg)


def _exec_fixing_inferencer(loader: importlib.abc.Loader, module) -> None:
    loader.exec_module(module)
    _fix_inferencer_tasks(module.MMagicInferencer)


# How each module is executed; the fixes run when their module is
# imported, so that `import sler_ir_mm` imports neither mmagic.apis nor
# mediapipe.
_IMPORT_FIXES = {
    CONTROLNET_AUX_MEDIAPIPE_MODULE: _exec_hiding_mediapipe,
    MMAGIC_INFERENCER_MODULE: _exec_fixing_inferencer,
}


class _FixingLoader(importlib.abc.Loader):
    """A module's own loader, executed through its fix."""

    def __init__(self, loader: importlib.abc.Loader, fix) -> None:
        self._loader = loader
        self._fix = fix

    def __getattr__(self, name: str):
        # get_source, get_filename, ... (tracebacks, inspect) are the
        # wrapped loader's.
        if name in ('_loader', '_fix'):  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._fix(self._loader, module)


class _ImportFixFinder(importlib.abc.MetaPathFinder):
    """Gives the modules of ``_IMPORT_FIXES`` a :class:`_FixingLoader`;
    every other import is left to the other finders."""

    sler_ir_import_fixes = True

    def find_spec(self, fullname, path, target=None):
        fix = _IMPORT_FIXES.get(fullname)
        if fix is None:
            return None
        for finder in sys.meta_path:
            if getattr(finder, 'sler_ir_import_fixes', False) or \
                    not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
            spec.loader = _FixingLoader(spec.loader, fix)
        return spec


def _fix_on_import() -> None:
    if not any(
            getattr(finder, 'sler_ir_import_fixes', False)
            for finder in sys.meta_path):
        sys.meta_path.insert(0, _ImportFixFinder())
    # Imported before sler_ir_mm (possible on numpy 1): fix it now.
    inferencer = sys.modules.get(MMAGIC_INFERENCER_MODULE)
    if inferencer is not None:
        _fix_inferencer_tasks(inferencer.MMagicInferencer)


def apply_runtime_fixes() -> None:
    """Apply every fix; safe to call more than once."""
    _numpy_bool8_alias()
    _allow_mmengine_checkpoints()
    _atomic_checkpoint_writes()
    _fix_on_import()


apply_runtime_fixes()
MMENGINE_CHECKPOINT_SAFE_GLOBALS = tuple(_safe_globals())
