from .spherical_router import RoutingResult, SphericalRouter

__all__ = ['RoutingResult', 'SphericalRouter']
