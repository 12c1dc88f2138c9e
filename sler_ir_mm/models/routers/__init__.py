from .base_router import BaseRouter, RoutingResult
from .classifier_router import ClassifierRouter
from .spherical_router import SphericalRouter

__all__ = [
    'BaseRouter', 'ClassifierRouter', 'RoutingResult', 'SphericalRouter'
]
