"""SLER-IR's two-stage schedule, and the one way to change its epochs.

The epochs of the two stages sit in several places of a config: the
``RoutingStageSwitchHook`` (``switch_epoch``), the ``CosineRestartLR``
(one period per stage), ``train_cfg`` (``max_epochs``, and ``val_interval``
when it validates at the end only) and the config's own
``stage1_epochs`` / ``stage2_epochs`` variables. Everything that sets them
goes through this module:

- a base schedule config builds the pieces with :func:`two_stage_schedule`;
- a config that changes the epochs of its base takes the pieces from
  :func:`with_stage_epochs` (which rewrites a copy of the base's);
- a tool, the study or a test rewrites a loaded config with
  :func:`set_stage_epochs` (``tools/train.py --stage-epochs S1 S2``);
- :func:`read_stage_epochs` reads them back.

Hooks and schedulers are found by their type, never by their place in a
list.
"""
import copy
from typing import Any, List, MutableMapping, NamedTuple, Optional, Sequence

from sler_ir_mm.utils.errors import SLERIRError

__all__ = [
    'SCHEDULE_KEYS', 'StageEpochs', 'StageScheduleError', 'read_stage_epochs',
    'set_stage_epochs', 'two_stage_schedule', 'with_stage_epochs'
]

SWITCH_HOOK = 'RoutingStageSwitchHook'
RESTART_SCHEDULER = 'CosineRestartLR'
# The config keys a schedule consists of (what with_stage_epochs returns).
SCHEDULE_KEYS = ('train_cfg', 'param_scheduler', 'custom_hooks')
# Top-level config variables that restate the epochs, kept in step.
_EPOCH_VARS = ('stage1_epochs', 'stage2_epochs', 'max_epochs')


class StageScheduleError(SLERIRError, ValueError):
    """The stage epochs cannot be set or read: bad numbers, or a config
    without one epoch-based ``RoutingStageSwitchHook`` and epoch-based
    training loop."""


class StageEpochs(NamedTuple):
    """The stage split of a config.

    Attributes:
        stage1_epochs (int): Epochs before the switch.
        stage2_epochs (int): Epochs after it.
        stage1_batch_size (int, optional): ``train_dataloader.batch_size``.
        stage2_batch_size (int, optional): The batch size from the switch on
            (the hook's ``train_batch_size``, else the stage-1 one).
    """
    stage1_epochs: int
    stage2_epochs: int
    stage1_batch_size: Optional[int]
    stage2_batch_size: Optional[int]


def _is_count(value: Any) -> bool:
    """Whether ``value`` is an int >= 1 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and \
        value >= 1


def _check_counts(**values: Any) -> None:
    # A stage of 0 epochs would be a cosine period of 0.
    for name, value in values.items():
        if value is not None and not _is_count(value):
            raise StageScheduleError(
                f'{name} must be an int >= 1, got {value!r}')


def _type_name(cfg: Any) -> str:
    """``'RoutingStageSwitchHook'`` of ``type='mmagic.RoutingStageSwitchHook'``
    or of the class itself."""
    kind = cfg.get('type') if isinstance(cfg, MutableMapping) else None
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return name.split('.')[-1]


def two_stage_schedule(stage1_epochs: int,
                       stage2_epochs: int,
                       stage2_batch_size: Optional[int] = None,
                       switch_model_stage: bool = True,
                       extra_hooks: Sequence[dict] = (),
                       eta_min: float = 1e-6) -> dict:
    """The schedule keys of a two-stage config.

    Training runs ``stage1_epochs + stage2_epochs`` epochs and validates at
    the end; the learning rate follows one cosine per stage (restarted at
    the switch); ``RoutingStageSwitchHook`` switches the model to stage 2
    (unless ``switch_model_stage=False``, for models without routing) and
    the batch size to ``stage2_batch_size``.

    Args:
        stage1_epochs (int): Epochs of stage 1 (>= 1).
        stage2_epochs (int): Epochs of stage 2 (>= 1).
        stage2_batch_size (int, optional): Batch size from the switch on;
            None keeps the stage-1 one.
        switch_model_stage (bool): Whether the hook switches the model's
            stage. Default: True.
        extra_hooks (Sequence[dict]): Hooks listed after the switch hook in
            ``custom_hooks``. Default: none.
        eta_min (float): The cosine's lowest learning rate. Default: 1e-6.

    Returns:
        dict: ``train_cfg``, ``param_scheduler`` and ``custom_hooks``.
    """
    _check_counts(stage1_epochs=stage1_epochs, stage2_epochs=stage2_epochs)
    total = stage1_epochs + stage2_epochs
    switch = dict(type=SWITCH_HOOK, switch_epoch=stage1_epochs)
    # Only what differs from the hook's defaults, as a config writes it.
    if stage2_batch_size is not None:
        switch['train_batch_size'] = stage2_batch_size
    if not switch_model_stage:
        switch['switch_model_stage'] = False
    return dict(
        train_cfg=dict(
            type='EpochBasedTrainLoop', max_epochs=total, val_interval=total),
        param_scheduler=dict(
            type=RESTART_SCHEDULER,
            by_epoch=True,
            periods=[stage1_epochs, stage2_epochs],
            restart_weights=[1.0, 1.0],
            eta_min=eta_min),
        custom_hooks=[switch] + [copy.deepcopy(h) for h in extra_hooks])


def _switch_hook(cfg: MutableMapping) -> MutableMapping:
    hooks = [
        h for h in cfg.get('custom_hooks', None) or []
        if _type_name(h) == SWITCH_HOOK
    ]
    if len(hooks) != 1:
        raise StageScheduleError(
            f'the stage epochs need exactly one {SWITCH_HOOK} in '
            f'custom_hooks (it sets the stage split), found {len(hooks)}')
    if hooks[0].get('switch_epoch', None) is None:
        raise StageScheduleError(
            f'the {SWITCH_HOOK} switches at an iteration (switch_iter), '
            'not an epoch: set its switch_iter instead')
    return hooks[0]


def _max_epochs(cfg: MutableMapping) -> int:
    train_cfg = cfg.get('train_cfg', None) or {}
    if train_cfg.get('max_epochs', None) is None:
        raise StageScheduleError(
            'the stage epochs need an epoch-based train_cfg (max_epochs); '
            f'this one is {dict(train_cfg)}')
    return int(train_cfg['max_epochs'])


def read_stage_epochs(cfg: MutableMapping) -> StageEpochs:
    """The stage split of a (loaded) config.

    Args:
        cfg (Config | dict): The config.

    Returns:
        StageEpochs: Epochs and batch sizes of both stages.

    Raises:
        StageScheduleError: The config has no single epoch-based
            ``RoutingStageSwitchHook`` or no ``train_cfg.max_epochs``.
    """
    hook = _switch_hook(cfg)
    stage1 = int(hook['switch_epoch'])
    loader = cfg.get('train_dataloader', None) or {}
    batch = loader.get('batch_size', None)
    batch = None if batch is None else int(batch)
    batch2 = hook.get('train_batch_size', None)
    return StageEpochs(stage1,
                       _max_epochs(cfg) - stage1, batch,
                       batch if batch2 is None else int(batch2))


def _schedulers(cfg: MutableMapping) -> List[MutableMapping]:
    schedulers = cfg.get('param_scheduler', None)
    if schedulers is None:
        return []
    if isinstance(schedulers, MutableMapping):
        return [schedulers]
    return [s for s in schedulers if isinstance(s, MutableMapping)]


def set_stage_epochs(cfg: MutableMapping,
                     stage1_epochs: int,
                     stage2_epochs: int,
                     stage2_batch_size: Optional[int] = None) -> None:
    """Give a two-stage config other stage epochs, in place.

    Sets the ``RoutingStageSwitchHook``'s ``switch_epoch`` (and
    ``train_batch_size`` if ``stage2_batch_size`` is given),
    ``train_cfg.max_epochs`` (and ``val_interval`` when it validated at the
    end only), the periods of each ``CosineRestartLR``, the ``begin`` /
    ``end`` of any other epoch-based scheduler that sat at the old switch
    or end, and the config's variables ``stage1_epochs``,
    ``stage2_epochs``, ``max_epochs`` and ``stage2_batch_size`` where it
    has them.

    Args:
        cfg (Config | dict): The config, changed in place.
        stage1_epochs (int): Epochs of stage 1 (>= 1).
        stage2_epochs (int): Epochs of stage 2 (>= 1).
        stage2_batch_size (int, optional): Batch size from the switch on;
            None leaves it as it is.

    Raises:
        StageScheduleError: Bad numbers, or the config has no single
            epoch-based ``RoutingStageSwitchHook``, no epoch-based
            ``train_cfg`` or a ``CosineRestartLR`` that is not one period
            per stage by epoch.
    """
    _check_counts(
        stage1_epochs=stage1_epochs,
        stage2_epochs=stage2_epochs,
        stage2_batch_size=stage2_batch_size)
    hook = _switch_hook(cfg)
    old_total = _max_epochs(cfg)
    old_switch = int(hook['switch_epoch'])
    total = stage1_epochs + stage2_epochs
    # Check every scheduler before changing anything.
    schedulers = _schedulers(cfg)
    for scheduler in schedulers:
        per_stage = scheduler.get('by_epoch', True) and len(
            scheduler.get('periods', ())) == 2
        if _type_name(scheduler) == RESTART_SCHEDULER and not per_stage:
            raise StageScheduleError(
                f'{RESTART_SCHEDULER} must have one period per stage, by '
                f'epoch, to follow the stage epochs; it has periods='
                f'{scheduler.get("periods")}, by_epoch='
                f'{scheduler.get("by_epoch", True)}')

    hook['switch_epoch'] = stage1_epochs
    if stage2_batch_size is not None:
        hook['train_batch_size'] = stage2_batch_size
    train_cfg = cfg['train_cfg']
    train_cfg['max_epochs'] = total
    if train_cfg.get('val_interval', 1) >= old_total:
        train_cfg['val_interval'] = total
    moved = {old_switch: stage1_epochs, old_total: total}
    for scheduler in schedulers:
        if _type_name(scheduler) == RESTART_SCHEDULER:
            scheduler['periods'] = [stage1_epochs, stage2_epochs]
        elif scheduler.get('by_epoch', True):
            for key in ('begin', 'end'):
                if scheduler.get(key, None) in moved:
                    scheduler[key] = moved[scheduler[key]]
    values = dict(
        stage1_epochs=stage1_epochs,
        stage2_epochs=stage2_epochs,
        max_epochs=total)
    for key in _EPOCH_VARS:
        if key in cfg:
            cfg[key] = values[key]
    if stage2_batch_size is not None and 'stage2_batch_size' in cfg:
        cfg['stage2_batch_size'] = stage2_batch_size


def with_stage_epochs(base: MutableMapping,
                      stage1_epochs: int,
                      stage2_epochs: int,
                      stage2_batch_size: Optional[int] = None) -> dict:
    """The schedule keys of ``base`` with other stage epochs, for a config
    that inherits them::

        _base_ = ['./_base_/schedules/sler_ir_two_stage.py', ...]
        from sler_ir_mm.engine.schedules import with_stage_epochs
        _schedule = with_stage_epochs(_base_, 6, 16, stage2_batch_size=16)
        train_cfg = _schedule['train_cfg']
        ...

    Args:
        base (Config | dict): The inherited config (``_base_`` in a config
            file); left as it is.
        stage1_epochs (int): Epochs of stage 1.
        stage2_epochs (int): Epochs of stage 2.
        stage2_batch_size (int, optional): Batch size from the switch on.

    Returns:
        dict: ``train_cfg``, ``param_scheduler`` and ``custom_hooks`` of
        ``base``, changed by :func:`set_stage_epochs`.
    """
    schedule = {
        key: copy.deepcopy(base[key])
        for key in SCHEDULE_KEYS if key in base
    }
    set_stage_epochs(schedule, stage1_epochs, stage2_epochs, stage2_batch_size)
    return schedule
