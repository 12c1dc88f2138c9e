from .checkpoint_check import (CheckpointMismatchError,
                               UnreadableCheckpointError,
                               check_checkpoint_matches, checkpoint_to_load,
                               resume_hint)
from .dist_backend import close_distributed, prepare_cpu_distributed
from .hooks import (EpochSeedHook, FiniteLossGuardHook, NonFiniteLossError,
                    RouteDiagnosticsHook, RoutingStageSwitchHook)

__all__ = [
    'CheckpointMismatchError', 'UnreadableCheckpointError',
    'check_checkpoint_matches', 'checkpoint_to_load', 'close_distributed',
    'prepare_cpu_distributed',
    'resume_hint','EpochSeedHook', 'FiniteLossGuardHook', 'NonFiniteLossError',
           'RouteDiagnosticsHook', 'RoutingStageSwitchHook']
