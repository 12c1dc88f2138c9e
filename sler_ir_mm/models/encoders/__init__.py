from .base_view_encoder import BaseViewEncoder
from .clip_image_encoder import CLIPImageEncoder
from .conv_degradation_encoder import ConvDegradationEncoder
from .daclip_encoder import DACLIPEncoder
from .degradation_prototype_classifier import DegradationPrototypeClassifier
from .degradation_prototypes import (DegradationPrototypes,
                                     load_degradation_prototypes)
from .encoder_output import EncoderOutput
from .encoder_recipe import EncoderNotPretrainedError
from .pretrained_degradation_encoder import pretrained_degradation_encoder

__all__ = [
    'BaseViewEncoder', 'ConvDegradationEncoder', 'CLIPImageEncoder',
    'DACLIPEncoder', 'DegradationPrototypeClassifier',
    'DegradationPrototypes',
    'EncoderNotPretrainedError', 'EncoderOutput',
    'load_degradation_prototypes', 'pretrained_degradation_encoder'
]
