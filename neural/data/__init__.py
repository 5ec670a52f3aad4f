"""Data pipelines of the paper's experiments (PAPER.md section 6).

Criteo (TSV -> memory-mapped binary cache), ImageNet in the ImageFolder layout with
the standard transforms (Pillow; no torchvision), mnist1d, and generators of
synthetic data in the same formats.
"""
