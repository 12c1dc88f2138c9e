from .epoch_seed_hook import EpochSeedHook
from .finite_loss_guard_hook import FiniteLossGuardHook, NonFiniteLossError
from .route_diagnostics_hook import RouteDiagnosticsHook
from .routing_stage_switch_hook import RoutingStageSwitchHook

__all__ = ['EpochSeedHook', 'FiniteLossGuardHook', 'NonFiniteLossError',
           'RouteDiagnosticsHook', 'RoutingStageSwitchHook']
