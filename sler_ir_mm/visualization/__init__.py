"""Pictures of what the model does (matplotlib is imported on first use)."""
from .route_figure import DEFAULT_LAYER_NAMES, draw_route, save_route_figure

__all__ = ['DEFAULT_LAYER_NAMES', 'draw_route', 'save_route_figure']
