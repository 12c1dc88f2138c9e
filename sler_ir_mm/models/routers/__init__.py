from .classifier_router import ClassifierRouter
from .spherical_router import RoutingResult, SphericalRouter

__all__ = ['ClassifierRouter', 'RoutingResult', 'SphericalRouter']
