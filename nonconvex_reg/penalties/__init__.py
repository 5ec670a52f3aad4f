"""Group penalties q on group norms: the regularizers of arXiv:2402.17902, Section 2."""

from .base import GroupPenalty, group_prox
from .log import LogPenalty
from .power import GroupLassoPenalty, L1MaskPenalty, LqPenalty, PowerPropPenalty
from .registry import PENALTY_REGISTRY, PenaltyFamily, penalty_examples, penalty_label
from .softmax import SoftmaxPenalty

__all__ = [
    "GroupLassoPenalty",
    "GroupPenalty",
    "L1MaskPenalty",
    "LogPenalty",
    "LqPenalty",
    "PENALTY_REGISTRY",
    "PenaltyFamily",
    "PowerPropPenalty",
    "SoftmaxPenalty",
    "group_prox",
    "penalty_examples",
    "penalty_label",
]
