"""Parameters of a study row's model, total and per image."""
from typing import Dict, Mapping, Optional

from mmengine.config import Config

__all__ = ['count_config_params']


def count_config_params(config: str,
                        cfg_options: Optional[Mapping] = None
                        ) -> Dict[str, int]:
    """Build the model of ``config`` and count its parameters.

    Args:
        config (str): Config file.
        cfg_options (Mapping, optional): The user's overrides.

    Returns:
        dict: ``total``, ``active`` (one expert per routed layer) and
        ``routed``.
    """
    from mmagic.registry import MODELS
    from mmengine.registry import init_default_scope

    from sler_ir_mm.evaluation.param_count import count_parameters
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(dict(cfg_options))
    init_default_scope(cfg.get('default_scope', 'mmagic'))
    return count_parameters(MODELS.build(cfg.model))._asdict()
