"""Data pipelines of the paper's experiments (arXiv:2402.17902, Section 4).

Criteo (TSV -> memory-mapped binary cache), ImageNet in the ImageFolder layout with
the standard transforms (Pillow; no torchvision), mnist1d, and generators of
synthetic data in the same formats.
"""

from .criteo import CriteoCacheInfo, CriteoDataset, convert_criteo_tsv
from .criteo_features import (
    DEFAULT_BUCKETS,
    N_CATEGORICAL,
    N_INTEGER,
    hash_categorical,
    transform_dense,
)
from .criteo_synthetic import (
    PlantedCriteoTeacher,
    generate_criteo_tsv,
    make_criteo_teacher,
)
from .imagefolder import ImageFolder
from .mnist1d import mnist1d_datasets
from .synthetic_images import generate_image_folder
from .transforms import eval_transform, train_transform

__all__ = [
    "DEFAULT_BUCKETS",
    "N_CATEGORICAL",
    "N_INTEGER",
    "CriteoCacheInfo",
    "CriteoDataset",
    "ImageFolder",
    "PlantedCriteoTeacher",
    "convert_criteo_tsv",
    "eval_transform",
    "generate_criteo_tsv",
    "generate_image_folder",
    "hash_categorical",
    "make_criteo_teacher",
    "mnist1d_datasets",
    "train_transform",
    "transform_dense",
]
