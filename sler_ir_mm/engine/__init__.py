from .hooks import (EpochSeedHook, FiniteLossGuardHook, NonFiniteLossError,
                    RouteDiagnosticsHook, RoutingStageSwitchHook)

__all__ = ['EpochSeedHook', 'FiniteLossGuardHook', 'NonFiniteLossError',
           'RouteDiagnosticsHook', 'RoutingStageSwitchHook']
