"""What a study row trains with: its budget."""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config

from sler_ir_mm.engine.schedules import StageScheduleError, read_stage_epochs
from .errors import StudyError

__all__ = ['BUDGET_KEYS', 'flatten_options', 'row_budget', 'budget_changes']

#: What makes two trainings comparable (a row.json with other values was
#: trained with another budget).
BUDGET_KEYS = ('stage1_epochs', 'stage2_epochs', 'stage1_batch_size',
               'stage2_batch_size', 'seed', 'cfg_options')


def _option(key: str, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        value = '[' + ','.join(str(v) for v in value) + ']'
    return f'{key}={value}'


def flatten_options(options: Optional[Mapping], prefix: str = '') -> List[str]:
    """``--cfg-options`` (a nested dict, as MMEngine's ``DictAction``
    gives it) as ``key=value`` arguments again.

    Args:
        options (Mapping, optional): The overrides.
        prefix (str): Key prefix of a nested level. Default: ''.
    """
    out: List[str] = []
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            out += flatten_options(value, f'{prefix}{key}.')
        else:
            out.append(_option(prefix + key, value))
    return out


def row_budget(config: str,
               seed: Optional[int] = None,
               stage_epochs: Optional[Tuple[int, int]] = None,
               cfg_options: Optional[Mapping] = None) -> Dict[str, Any]:
    """The budget of one row: epochs and batch size of each stage, the
    seed and the user's config overrides.

    Args:
        config (str): The row's config file.
        seed (int, optional): ``randomness.seed``; None: the config's.
        stage_epochs (tuple[int, int], optional): Epochs of the two stages
            for every row (``tools/train.py --stage-epochs``); None: the
            config's.
        cfg_options (Mapping, optional): The user's ``--cfg-options``.

    Returns:
        dict: ``BUDGET_KEYS`` -> value (``cfg_options`` as a list of
        ``key=value``).

    Raises:
        StudyError: The config has no two-stage epoch schedule.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    try:
        stages = read_stage_epochs(cfg)
    except StageScheduleError as err:
        raise StudyError(f'{config}: {err}') from None
    stage1, stage2 = stages.stage1_epochs, stages.stage2_epochs
    if stage_epochs is not None:
        stage1, stage2 = stage_epochs
    if seed is None:
        seed = (cfg.get('randomness') or {}).get('seed')
    return dict(
        stage1_epochs=stage1,
        stage2_epochs=stage2,
        stage1_batch_size=stages.stage1_batch_size,
        stage2_batch_size=stages.stage2_batch_size,
        seed=seed,
        cfg_options=flatten_options(cfg_options))


def budget_changes(old: Mapping,
                   new: Mapping,
                   keys: Sequence[str] = BUDGET_KEYS) -> List[str]:
    """``'key: old -> new'`` for each budget key that differs.

    Args:
        old (Mapping): The recorded budget.
        new (Mapping): The budget asked for.
        keys (Sequence[str]): Keys compared. Default: ``BUDGET_KEYS``.
    """
    return [
        f'{k}: {old.get(k)} -> {new.get(k)}' for k in keys
        if old.get(k) != new.get(k)
    ]
