"""Models of the paper's experiments (arXiv:2402.17902, Section 4)."""

from .criteo import CriteoDNN
from .mlp import MLP, criteo_tower
from .resnet import ResNet, resnet18, resnet50

__all__ = ["CriteoDNN", "MLP", "ResNet", "criteo_tower", "resnet18", "resnet50"]
