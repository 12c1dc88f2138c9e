from .clip_image_encoder import CLIPImageEncoder
from .conv_degradation_encoder import ConvDegradationEncoder
from .daclip_encoder import DACLIPEncoder
from .encoder_output import EncoderOutput

__all__ = [
    'ConvDegradationEncoder', 'CLIPImageEncoder', 'DACLIPEncoder',
    'EncoderOutput'
]
