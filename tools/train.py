"""Train a model from an MMEngine config.

A config whose degradation encoder is pretrained in the project
(``PretrainedDegradationEncoder``, the mini configs) has it pretrained
first, as a step of its own with its own progress bar, when its file is
missing (what ``tools/pretrain_degradation_encoder.py CONFIG`` does); then
the model is built and trained.

Examples::

    python tools/train.py configs/smoke/sler_ir_smoke.py
    python tools/train.py configs/sler_ir_mini_5task.py --stage-epochs 2 4   # shorter
    python tools/train.py CONFIG --work-dir work_dirs/run1 --resume          # latest ckpt
    python tools/train.py CONFIG --resume work_dirs/run1/iter_400.pth        # a given ckpt
    bash tools/dist_train.sh CONFIG 8                                        # 8 GPUs
"""
import argparse
import os
import os.path as osp
import warnings

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the log.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore', message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2, safe torch.load)
# before MMEngine or MMagic load anything.
import sler_ir_mm  # noqa: F401,E402,I001
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from sler_ir_mm.engine import (CheckpointMismatchError,  # noqa: E402
                               NonFiniteLossError, UnreadableCheckpointError,
                               check_checkpoint_matches, checkpoint_to_load,
                               resume_hint)
from sler_ir_mm.engine.dist_backend import close_distributed  # noqa: E402
from sler_ir_mm.engine.run_config import (finish_run_config,  # noqa: E402
                                          load_run_config)
from sler_ir_mm.engine.checkpoint_check import (  # noqa: E402
    check_is_checkpoint)
from sler_ir_mm.engine.degradation_pretraining import (  # noqa: E402
    pretrain_missing_encoders)
from sler_ir_mm.engine.schedules import (StageScheduleError,  # noqa: E402
                                         read_stage_epochs,
                                         set_stage_epochs)
from sler_ir_mm.utils.cli import (TRACEBACK_EPILOG, run_main,  # noqa: E402
                                  show_traceback)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a model', epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where logs and checkpoints go '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        metavar='CKPT',
        help='resume training: from CKPT if given, else from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--no-strict-load',
        action='store_true',
        help='let load_from/--resume load a checkpoint that does not fully '
        'match the model (only the matching weights are loaded, the rest '
        'stays as initialised); by default a mismatch stops the run before '
        'training')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed-precision training (CUDA, NPU or MLU devices only)')
    parser.add_argument(
        '--data-root',
        help='read every dataset of the config from this folder instead of '
        'the config\'s data_root (e.g. where your all-in-one data lives)')
    parser.add_argument(
        '--stage-epochs',
        nargs=2,
        type=int,
        metavar=('STAGE1', 'STAGE2'),
        help='train the two stages of a two-stage config for these many '
        'epochs: the stage switch, the restarted cosine and the end of '
        'training follow (applied after --cfg-options)')
    parser.add_argument(
        '--stage2-batch-size',
        type=int,
        metavar='N',
        help='batch size per process from the stage switch on (the switch '
        "hook's train_batch_size; e.g. half of it on 2 processes)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_cfg.max_iters=1000 "param_scheduler.0.T_max=1000"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed training')
    # torchrun passes --local-rank (torch>=2.0) or --local_rank (older).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_amp(cfg: Config) -> None:
    """Switch the config's optimizer wrapper to AMP, or explain why not."""
    import torch
    from mmengine.device import is_mlu_available, is_npu_available
    if not (torch.cuda.is_available() or is_npu_available()
            or is_mlu_available()):
        raise SystemExit('--amp needs a CUDA, NPU or MLU device; none is '
                         'available here. Drop --amp to train in fp32.')
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        print('AMP is already enabled in the config.')
        return
    if optim_wrapper != 'OptimWrapper':
        raise SystemExit(f'--amp only applies to optim_wrapper.type='
                         f'OptimWrapper, the config has {optim_wrapper!r}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def build_config(args: argparse.Namespace) -> Config:
    cfg = load_run_config(args.config, args.cfg_options, args.launcher)
    if args.stage_epochs is not None or args.stage2_batch_size is not None:
        flag = '--stage-epochs' if args.stage_epochs else '--stage2-batch-size'
        try:
            epochs = args.stage_epochs or read_stage_epochs(cfg)[:2]
            set_stage_epochs(cfg, *epochs,
                             stage2_batch_size=args.stage2_batch_size)
        except StageScheduleError as err:
            raise SystemExit(f'{flag}: {err}')
    finish_run_config(cfg, args.config, args.data_root, args.work_dir)

    if args.amp:
        enable_amp(cfg)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def check_checkpoint(runner: Runner, cfg: Config) -> None:
    """Refuse a load_from/--resume checkpoint that does not fit the model.

    MMEngine would load it non-strictly, with warnings only, and train a
    partly random model; this runs before any training step.
    """
    source = '--resume' if cfg.get('resume', False) else 'load_from'
    try:
        path = checkpoint_to_load(cfg.get('load_from'),
                                  cfg.get('resume', False), runner.work_dir)
        if path is None:
            return
        check_is_checkpoint(path)
        check_checkpoint_matches(runner.model, path)
    except UnreadableCheckpointError as err:
        if show_traceback():
            raise
        hint = '' if 'resume from' in str(err) else (
            '; ' + resume_hint(runner.work_dir, exclude=osp.abspath(path))
            if cfg.get('resume', False) else '')
        raise SystemExit(f'{source}: {err}{hint}\nNothing was loaded and '
                         'training did not start.')
    except CheckpointMismatchError as err:
        if show_traceback():
            raise
        raise SystemExit(
            f'{source}: {err}\nNothing was loaded and training did not '
            'start. To load only the matching weights on purpose, pass '
            '--no-strict-load.')


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = build_config(args)
    # Building the model only reads a pretrained encoder: make it first.
    pretrain_missing_encoders(cfg.model)
    runner = Runner.from_cfg(cfg)
    if not args.no_strict_load:
        check_checkpoint(runner, cfg)
    try:
        runner.train()
        close_distributed()
    except NonFiniteLossError:
        if show_traceback():
            raise
        # FiniteLossGuardHook has logged what went wrong (console and log
        # file); the message would only repeat it.
        raise SystemExit(1)


if __name__ == '__main__':
    run_main(main)
