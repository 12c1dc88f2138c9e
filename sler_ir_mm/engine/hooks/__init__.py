from .routing_stage_switch_hook import RoutingStageSwitchHook

__all__ = ['RoutingStageSwitchHook']
