from .epoch_seed_hook import EpochSeedHook
from .finite_loss_guard_hook import FiniteLossGuardHook, NonFiniteLossError
from .routing_stage_switch_hook import RoutingStageSwitchHook

__all__ = ['EpochSeedHook', 'FiniteLossGuardHook', 'NonFiniteLossError',
           'RoutingStageSwitchHook']
