"""Models of the paper's experiments (PAPER.md section 6)."""

from .criteo import CriteoDNN
from .mlp import MLP, criteo_tower
from .resnet import ResNet, resnet18, resnet50

__all__ = ["CriteoDNN", "MLP", "ResNet", "criteo_tower", "resnet18", "resnet50"]
