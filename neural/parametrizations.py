"""Masked block weights as ``torch.nn.utils.parametrize`` parametrizations.

Every pruned layer's ``weight`` becomes ``W_eff = W * expand(S)`` where ``S`` is a
block-level scale (:class:`~neural.blocks.BlockGrid`) that depends on the method:

* :class:`BlockMask` (magnitude pruning, ACDC): ``S = mask`` while masking, else
  the identity (no multiplication at all in dense phases).
* :class:`BlockAttention` (SequentialAttention++, Algorithm 1 of arXiv:2402.17902
  with one logit per block, as in its Figure 1): ``A = n_blocks * softmax(L)``
  (mean 1), clipped to ``[low, high]``; ``S = A * mask`` while masking, else ``A``.
* :class:`BlockPowerProp` (block powerpropagation, Lemma 2.3 / Section 4):
  ``S = ||W_b||_F^(alpha - 1) * mask`` while masking, else without the mask.

Each ranks its blocks by ``scores`` within a layer and by ``global_scores``
across layers (``scope="global"``): the same block norms for the magnitude
family, the log-attention ``log A`` instead of the raw logits for SA++.

The mask is a boolean buffer of shape ``(n_row_blocks, n_col_blocks)`` and the
logits a parameter of the same shape, so ``state_dict`` carries both. Whether the
mask is applied (``masking``) is phase state owned by the pruner, kept as a Python
flag so that the forward pass never reads a device value.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import BlockGrid

__all__ = ["BlockMask", "BlockAttention", "BlockPowerProp"]


class BlockMask(nn.Module):
    """``W * expand(mask)`` while masking; ``W`` otherwise.

    Parameters
    ----------
    grid : BlockGrid
        The tiling of the weight.
    device : torch.device, optional
        Device of the mask (and logits): the weight's.

    Attributes
    ----------
    mask : torch.Tensor of bool, shape (n_row_blocks, n_col_blocks)
        The kept blocks (buffer).
    masking : bool
        Whether the mask is applied in the forward pass.
    """

    def __init__(self, grid: BlockGrid, device=None):
        super().__init__()
        self.grid = grid
        self.register_buffer(
            "mask",
            torch.ones(grid.grid_shape, dtype=torch.bool, device=device),
        )
        self.masking = False

    def block_scale(self, weight: torch.Tensor) -> torch.Tensor | None:
        """Block-level scale before masking; ``None`` means 1."""
        return None

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """The effective weight ``W * expand(S)``."""
        scale = self.block_scale(weight)
        if self.masking:
            mask = self.mask.to(weight.dtype)
            scale = mask if scale is None else scale * mask
        if scale is None:
            return weight
        return self.grid.scale(weight, scale.to(weight.dtype))

    def scores(self, weight: torch.Tensor) -> torch.Tensor:
        """Block importance for top-k selection: the Frobenius norm of ``W_b``."""
        return self.grid.block_norms(weight.detach())

    def global_scores(self, weight: torch.Tensor) -> torch.Tensor:
        """Scores that compare across layers (``scope="global"``): :meth:`scores`.

        A Frobenius norm is in the weights' own units in every layer, which is
        what global magnitude pruning compares. It favours layers of larger
        weights (smaller fan-in), the bottleneck Appendix C.1 of the paper
        (arXiv:2402.17902, trick 3) gives as the reason to prune per layer.
        """
        return self.scores(weight)


class BlockAttention(BlockMask):
    """SA++'s softmax block attention ``A = n_blocks softmax(L)``, clipped.

    Parameters
    ----------
    grid : BlockGrid
    bounds : tuple of float or None
        ``(low, high)`` clip range of the mean-1 attention ``A``; ``None`` disables
        clipping. The gradient of a clipped entry is zero (``torch.clamp``).

    Attributes
    ----------
    logits : torch.nn.Parameter of shape (n_row_blocks, n_col_blocks)
        One trainable logit per block, initialized to 0 (``A = 1``).
    """

    def __init__(
        self, grid: BlockGrid, bounds: tuple[float, float] | None, device=None
    ):
        super().__init__(grid, device)
        self.logits = nn.Parameter(
            torch.zeros(grid.grid_shape, device=self.mask.device)
        )
        self.bounds = bounds

    def attention(self) -> torch.Tensor:
        """``A = n_blocks * softmax(L)`` over all blocks of the layer, clipped."""
        flat = self.logits.reshape(-1)
        attention = (flat.numel() * torch.softmax(flat, dim=0)).view_as(self.logits)
        if self.bounds is not None:
            attention = attention.clamp(*self.bounds)
        return attention

    def block_scale(self, weight: torch.Tensor) -> torch.Tensor:
        """The attention ``A``."""
        return self.attention()

    def scores(self, weight: torch.Tensor) -> torch.Tensor:
        """The logits: ordered like the unclipped attention, no ties from clipping."""
        return self.logits.detach()

    def global_scores(self, weight: torch.Tensor) -> torch.Tensor:
        """``log A = L - logsumexp(L) + log n_blocks``, the unclipped log-attention.

        Raw logits mean something only up to a constant per layer (each layer
        has its own softmax); ``A`` has mean 1 over every layer's blocks
        (Algorithm 1 of arXiv:2402.17902), so it compares across layers. The
        logarithm keeps the order of ``A`` without underflow, and within a layer
        the order of the logits.
        """
        flat = self.logits.detach().reshape(-1)
        log_n = math.log(flat.numel())
        return (flat - torch.logsumexp(flat, dim=0) + log_n).view_as(self.logits)


class BlockPowerProp(BlockMask):
    """Block powerpropagation: each block times its Frobenius norm to ``alpha - 1``.

    ``W_eff,b = W_b ||W_b||^(alpha - 1)``; :meth:`rescale_from_effective` makes the
    effective weights start at the module's initial weights. Zero blocks have scale
    0 and gradient 0.

    Parameters
    ----------
    grid : BlockGrid
    alpha : float
        Power, ``>= 1`` (1 is plain training).
    """

    def __init__(self, grid: BlockGrid, alpha: float, device=None):
        super().__init__(grid, device)
        self.alpha = alpha

    def block_scale(self, weight: torch.Tensor) -> torch.Tensor:
        """``||W_b||^(alpha - 1)``, computed from squared norms with a safe zero."""
        squared = self.grid.block_sum(weight.square())
        positive = squared > 0
        safe = torch.where(positive, squared, torch.ones_like(squared))
        return torch.where(
            positive, safe.pow((self.alpha - 1.0) / 2.0), torch.zeros_like(squared)
        )

    def scores(self, weight: torch.Tensor) -> torch.Tensor:
        """Effective block magnitude ``||W_eff,b|| = ||W_b||^alpha``."""
        return self.grid.block_norms(weight.detach()).pow(self.alpha)

    @torch.no_grad()
    def rescale_from_effective(self, weight: torch.Tensor) -> None:
        """In place: ``W_b <- W_b / ||W_b||^((alpha-1)/alpha)``, so ``W_eff = W``."""
        norms = self.grid.block_norms(weight)
        positive = norms > 0
        safe = torch.where(positive, norms, torch.ones_like(norms))
        factor = torch.where(
            positive, safe.pow(-(self.alpha - 1.0) / self.alpha), torch.ones_like(norms)
        )
        weight.copy_(self.grid.scale(weight, factor.to(weight.dtype)))
