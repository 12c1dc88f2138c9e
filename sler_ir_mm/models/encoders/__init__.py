from .conv_degradation_encoder import ConvDegradationEncoder

__all__ = ['ConvDegradationEncoder']
