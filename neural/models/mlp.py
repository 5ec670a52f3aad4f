"""Multilayer perceptrons, among them the Criteo tower 390-400-400-400-1.

arXiv:2402.17902, Section 4: the Criteo model feeds the 390-wide concatenated embedding
(39 features x 10) through three 400-wide layers to one logit, and only the first
dense layer (``layers.0``, 390 x 400) is pruned. The hidden activation is not given
in the paper; ReLU is our choice.
"""

from __future__ import annotations

from torch import nn

from nonconvex_reg.validation import check_int

__all__ = ["MLP", "criteo_tower"]


class MLP(nn.Module):
    """Linear layers with ReLU between them, named ``layers.0``, ``layers.2`` and on.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to output, at least two.
    """

    def __init__(self, sizes):
        super().__init__()
        sizes = [check_int(s, "sizes", low=1) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"`sizes` must list at least 2 widths; got {sizes}.")
        modules = []
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
            if i:
                modules.append(nn.ReLU())
            modules.append(nn.Linear(n_in, n_out))
        self.layers = nn.Sequential(*modules)

    def forward(self, x):
        """Outputs of shape ``(batch, sizes[-1])``."""
        return self.layers(x)


def criteo_tower() -> MLP:
    """The 390-400-400-400-1 tower of the paper's Criteo model."""
    return MLP([390, 400, 400, 400, 1])
