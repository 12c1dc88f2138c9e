from .hooks import (EpochSeedHook, FiniteLossGuardHook, NonFiniteLossError,
                    RoutingStageSwitchHook)

__all__ = ['EpochSeedHook', 'FiniteLossGuardHook', 'NonFiniteLossError',
           'RoutingStageSwitchHook']
