from .hooks import RoutingStageSwitchHook

__all__ = ['RoutingStageSwitchHook']
