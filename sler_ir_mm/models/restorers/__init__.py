from .encoded_batch import BatchEncoder, EncodedBatch
from .restore_plan import RestorePlan
from .sler_restorer import SLERRestorer

__all__ = ['BatchEncoder', 'EncodedBatch', 'RestorePlan', 'SLERRestorer']
