"""The commands a study row runs, as argument lists (``python tools/...``,
relative to the repository root), and how they are printed."""
import os.path as osp
import shlex
from typing import List, Mapping, Optional, Sequence, Tuple

__all__ = [
    'TRAIN', 'TEST', 'ROUTE_STATS', 'train_command', 'evaluation_command',
    'route_stats_command', 'format_command'
]

TRAIN = osp.join('tools', 'train.py')
TEST = osp.join('tools', 'test.py')
ROUTE_STATS = osp.join('tools', 'analysis_tools', 'route_stats.py')


def _command(script: str, *args: str,
             options: Sequence[str] = ()) -> List[str]:
    cmd = ['python', script, *args]
    if options:
        cmd += ['--cfg-options', *options]
    return cmd


def train_command(config: str,
                  work_dir: str,
                  budget: Mapping,
                  stage_epochs: Optional[Tuple[int, int]] = None,
                  resume_from: Optional[str] = None) -> List[str]:
    """``tools/train.py`` of a row.

    Args:
        config (str): The row's config.
        work_dir (str): Its work dir.
        budget (Mapping): :func:`~sler_ir_mm.study.budget.row_budget`.
        stage_epochs (tuple[int, int], optional): ``--stage-epochs`` (the
            study's override of every row's epochs).
        resume_from (str, optional): Checkpoint to resume from
            (``--resume CKPT``).
    """
    args = [config, '--work-dir', work_dir]
    if resume_from is not None:
        args += ['--resume', resume_from]
    if stage_epochs is not None:
        args += ['--stage-epochs', *(str(e) for e in stage_epochs)]
    options = list(budget.get('cfg_options') or [])
    if budget.get('seed') is not None:
        options.insert(0, f'randomness.seed={budget["seed"]}')
    return _command(TRAIN, *args, options=options)


def evaluation_command(
    config: str,
    test_dir: str,
    checkpoint: Optional[str],
    cfg_options: Sequence[str] = ()) -> List[str]:
    """``tools/test.py`` of a row; ``checkpoint=None`` scores the degraded
    inputs (``--degraded-inputs``). It writes ``results.json`` to its log
    dir under ``test_dir``.

    Args:
        config (str): The row's config.
        test_dir (str): ``--work-dir`` of the test.
        checkpoint (str, optional): The trained checkpoint.
        cfg_options (Sequence[str]): The user's overrides (the budget's
            seed does not change testing).
    """
    args = [config, checkpoint
            ] if checkpoint else [config, '--degraded-inputs']
    return _command(TEST, *args, '--work-dir', test_dir, options=cfg_options)


def route_stats_command(
    config: str,
    checkpoint: str,
    out_dir: str,
    cfg_options: Sequence[str] = ()) -> List[str]:
    """``tools/analysis_tools/route_stats.py`` of a routed row: routes of
    the test sets and of a probe of training patches, written to
    ``out_dir/route_stats.json``.

    Args:
        config (str): The row's config.
        checkpoint (str): The trained checkpoint.
        out_dir (str): ``--out-dir``.
        cfg_options (Sequence[str]): The user's overrides.
    """
    return _command(
        ROUTE_STATS,
        config,
        checkpoint,
        '--out-dir',
        out_dir,
        options=cfg_options)


def format_command(cmd: Sequence[str]) -> str:
    """A command as a shell line."""
    return ' '.join(shlex.quote(str(c)) for c in cmd)
