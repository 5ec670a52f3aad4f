"""The Criteo click model: 39 embeddings of size 10, then a 390-400-400-400-1 MLP.

arXiv:2402.17902, Section 4: each of the 39 features (13 numeric, 26
categorical) maps to a vector of size 10, the 390-wide concatenation feeds three
400-wide dense layers, and only the first of them (390 x 400) is pruned. Here

* categorical column j (a hashed bucket id, :mod:`neural.data.criteo`) goes
  through its own ``nn.Embedding(buckets[j], 10)``;
* numeric feature i (a float, ``sign(x)·log1p(|x|)``) is embedded as x_i·v_i + b_i with
  learned v_i, b_i ∈ R^10. The paper does not say how numeric features are
  embedded; this affine map is our choice;
* the concatenation is in file order, I1..I13 then C1..C26, so feature f owns
  columns ``10 f .. 10 f + 9`` of the first dense layer;
* the tower is :class:`neural.models.mlp.MLP` (ReLU hidden layers, ours), kept as
  ``tower`` so the pruned layer is ``tower.layers.0``; the output is one logit
  (apply a sigmoid, or use ``binary_cross_entropy_with_logits``).
"""

from __future__ import annotations

import torch
from torch import nn

from nonconvex_reg.validation import check_int

from ..data.criteo import DEFAULT_BUCKETS, N_CATEGORICAL, N_INTEGER, check_buckets
from .mlp import MLP

__all__ = ["CriteoDNN"]


class CriteoDNN(nn.Module):
    """Embeddings of the 39 Criteo features, concatenated, through an MLP to a logit.

    Parameters
    ----------
    buckets : int or sequence of 26 int, default=2**18
        Embedding rows per categorical column; must match the cache's buckets.
    embedding_dim : int, default=10
    hidden : sequence of int, default=(400, 400, 400)
        Widths of the tower's hidden layers, at least one.

    Attributes
    ----------
    embeddings : nn.ModuleList of 26 nn.Embedding
    numeric_weight, numeric_bias : nn.Parameter of shape (13, embedding_dim)
        v_i and b_i of the numeric embeddings x_i·v_i + b_i.
    tower : MLP
        ``[39 * embedding_dim, *hidden, 1]``; ``tower.layers.0`` is the layer the
        paper prunes.

    Notes
    -----
    With the default 2**18 buckets the 26 tables hold 68M parameters (272 MB in
    float32), far more than the tower's 0.48M; dense Adam updates them all.

    Examples
    --------
    >>> model = CriteoDNN(buckets=100)
    >>> model.tower.layers[0]
    Linear(in_features=390, out_features=400, bias=True)
    >>> dense = torch.randn(4, 13)
    >>> categorical = torch.randint(0, 100, (4, 26))
    >>> model(dense, categorical).shape
    torch.Size([4])
    """

    def __init__(
        self, buckets=DEFAULT_BUCKETS, embedding_dim=10, hidden=(400, 400, 400)
    ):
        super().__init__()
        self.buckets = check_buckets(buckets)
        self.embedding_dim = check_int(embedding_dim, "embedding_dim", low=1)
        hidden = tuple(hidden)
        if not hidden:
            raise ValueError("`hidden` must list at least one width; got ().")
        self.embeddings = nn.ModuleList(
            nn.Embedding(b, self.embedding_dim) for b in self.buckets
        )
        self.numeric_weight = nn.Parameter(torch.randn(N_INTEGER, self.embedding_dim))
        self.numeric_bias = nn.Parameter(torch.zeros(N_INTEGER, self.embedding_dim))
        width = (N_INTEGER + N_CATEGORICAL) * self.embedding_dim
        self.tower = MLP([width, *hidden, 1])
        self.register_buffer(
            "_bucket_counts", torch.tensor(self.buckets), persistent=False
        )

    def _check_inputs(self, dense, categorical):
        for name, value in (("dense", dense), ("categorical", categorical)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"`{name}` must be a torch.Tensor; got {type(value)}.")
        if dense.dtype != self.numeric_weight.dtype:
            raise TypeError(
                f"`dense` must have the model's dtype {self.numeric_weight.dtype}; "
                f"got {dense.dtype}."
            )
        if categorical.is_floating_point() or categorical.is_complex():
            raise TypeError(
                f"`categorical` must be an integer tensor; got {categorical.dtype}."
            )
        if dense.ndim != 2 or dense.shape[1] != N_INTEGER:
            raise ValueError(
                f"`dense` must have shape (batch, {N_INTEGER}); "
                f"got {tuple(dense.shape)}."
            )
        if categorical.shape != (dense.shape[0], N_CATEGORICAL):
            raise ValueError(
                f"`categorical` must have shape ({dense.shape[0]}, {N_CATEGORICAL}) "
                f"to match `dense`; got {tuple(categorical.shape)}."
            )
        outside = (categorical < 0) | (categorical >= self._bucket_counts)
        if bool(outside.any()):
            j = int(outside.any(dim=0).nonzero()[0])
            value = int(categorical[:, j][outside[:, j]][0])
            raise ValueError(
                f"`categorical` column {j} must hold bucket ids in "
                f"[0, {self.buckets[j]}); got {value}."
            )

    def embed(self, dense, categorical):
        """The 390-wide input of the tower, of shape (batch, 39 * embedding_dim)."""
        numeric = dense.unsqueeze(-1) * self.numeric_weight + self.numeric_bias
        columns = [
            embedding(categorical[:, j]) for j, embedding in enumerate(self.embeddings)
        ]
        return torch.cat([numeric, torch.stack(columns, dim=1)], dim=1).flatten(1)

    def forward(self, dense, categorical):
        """Logits of shape (batch,).

        Parameters
        ----------
        dense : Tensor of float of shape (batch, 13)
        categorical : Tensor of int of shape (batch, 26)
            Bucket ids, column j in ``[0, buckets[j])``.

        Raises
        ------
        TypeError
            On a non-tensor, a ``dense`` not of the model's dtype or a non-integer
            ``categorical``.
        ValueError
            On wrong shapes or out-of-range bucket ids.
        """
        self._check_inputs(dense, categorical)
        return self.tower(self.embed(dense, categorical)).squeeze(-1)
