"""Group penalties q on group norms: the regularizers of arXiv:2402.17902, Section 2."""

from .base import GroupPenalty, group_prox
from .log import LogPenalty
from .power import GroupLassoPenalty, L1MaskPenalty, LqPenalty, PowerPropPenalty
from .softmax import SoftmaxPenalty

__all__ = [
    "GroupLassoPenalty",
    "GroupPenalty",
    "L1MaskPenalty",
    "LogPenalty",
    "LqPenalty",
    "PowerPropPenalty",
    "SoftmaxPenalty",
    "group_prox",
]
