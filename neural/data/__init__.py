"""Data pipelines of the paper's experiments (PAPER.md section 6): Criteo, ImageNet, mnist1d."""
