"""A frozen degradation encoder pretrained in the project, for configs."""
from mmagic.registry import MODELS

from .base_view_encoder import BaseViewEncoder
from .degradation_prototypes import load_degradation_prototypes
from .encoder_recipe import DEFAULT_CACHE_DIR, pretrained_encoder_file

__all__ = ['pretrained_degradation_encoder']


@MODELS.register_module(name='PretrainedDegradationEncoder')
def pretrained_degradation_encoder(recipe: dict,
                                   cache_dir: str = DEFAULT_CACHE_DIR,
                                   config_key: str = 'checkpoint'
                                   ) -> BaseViewEncoder:
    """A frozen ``CLIPImageEncoder`` whose weights a recipe pretrains.

    For configs: ``degradation_encoder=dict(type=
    'PretrainedDegradationEncoder', recipe=dict(...))`` builds the tower of
    ``recipe['encoder']``, frozen, from the recipe's pretrained file in
    ``cache_dir``. Building never trains: the file is made by the
    pretraining step (``tools/pretrain_degradation_encoder.py CONFIG``,
    which ``tools/train.py`` runs first when the file is missing).

    Args:
        recipe (dict): See
            :func:`~sler_ir_mm.models.encoders.encoder_recipe.check_recipe`.
        cache_dir (str): Folder of the pretrained towers. Default:
            'checkpoints/degradation_encoders'.
        config_key (str): Config key quoted in loading errors.

    Returns:
        BaseViewEncoder: The frozen tower (a ``CLIPImageEncoder``), with
        the file's per-degradation prototypes as ``degradation_prototypes``
        (:class:`DegradationPrototypes`, not part of its state dict), so
        that inference can name the degradation it sees.

    Raises:
        EncoderNotPretrainedError: The recipe's file does not exist yet; the
            message names the command that makes it.
        FileExistsError: The recipe's path holds a file another recipe (or
            something else) wrote.
    """
    path = pretrained_encoder_file(recipe, cache_dir, config_key)
    encoder = {k: v for k, v in recipe['encoder'].items()
               if k not in ('checkpoint', 'random_init', 'frozen')}
    tower = MODELS.build(
        dict(encoder, checkpoint=path, frozen=True, config_key=config_key))
    tower.degradation_prototypes = load_degradation_prototypes(path)
    return tower
