"""A frozen degradation encoder pretrained in the project, for configs."""
from mmagic.registry import MODELS

from sler_ir_mm.engine.degradation_pretraining import \
    ensure_pretrained_encoder
from .base_view_encoder import BaseViewEncoder

__all__ = ['pretrained_degradation_encoder']


@MODELS.register_module(name='PretrainedDegradationEncoder')
def pretrained_degradation_encoder(recipe: dict,
                                   cache_dir: str = 'checkpoints/'
                                   'degradation_encoders',
                                   config_key: str = 'checkpoint'
                                   ) -> BaseViewEncoder:
    """A frozen ``CLIPImageEncoder`` whose weights a recipe pretrains.

    For configs: ``degradation_encoder=dict(type=
    'PretrainedDegradationEncoder', recipe=dict(...))`` builds the tower of
    ``recipe['encoder']``, frozen, from
    :func:`ensure_pretrained_encoder` (trained on first use, in a few
    minutes for the mini recipe, then read from ``cache_dir``).

    Args:
        recipe (dict): See :func:`check_recipe`.
        cache_dir (str): Folder of the cached towers. Default:
            'checkpoints/degradation_encoders'.
        config_key (str): Config key quoted in loading errors.

    Returns:
        BaseViewEncoder: The frozen tower (a ``CLIPImageEncoder``).
    """
    path = ensure_pretrained_encoder(recipe, cache_dir)
    encoder = {k: v for k, v in recipe['encoder'].items()
               if k not in ('checkpoint', 'random_init', 'frozen')}
    return MODELS.build(
        dict(encoder, checkpoint=path, frozen=True, config_key=config_key))
