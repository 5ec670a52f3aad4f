"""Block grids: the B_r x B_c tiling of a layer's weight matrix (arXiv:2402.17902).

The paper views every prunable weight as a matrix with one row per input and one
column per output, ``W in R^{n x m}`` of Algorithm 1 (Section 3):

* ``nn.Linear`` weight ``(out, in)``: the matrix is its transpose, ``in x out``;
* ``nn.Conv{1,2,3}d`` kernel ``(C_out, C_in, *k)``: the kernel ``H x W x C_in x
  C_out`` reshaped to ``(H*W*C_in) x C_out`` (Section 4), so that a block row
  spans kernel positions and input channels together, as in the paper.

The matrix is tiled into blocks of ``B_r`` rows by ``B_c`` columns, row-major:
block ``(i, j)`` holds matrix rows ``[i B_r, (i+1) B_r)`` and columns
``[j B_c, (j+1) B_c)``, and its flat index is ``i * n_col_blocks + j``. When
``B_r`` does not divide the number of rows (Criteo's 390-wide input with 20-wide
blocks, paper Section 4) the last block row is ragged: it holds the remaining rows and
is a block like any other, smaller (10 x 20 there). Nothing is padded.
``B_r = B_c = 1`` is unstructured pruning.

A block-level tensor has shape ``(n_row_blocks, n_col_blocks)``;
:meth:`BlockGrid.scale` multiplies a weight by it with broadcasting over a 4-D
tile view (the ragged edge is zero-padded inside the computation and cropped), and
:meth:`BlockGrid.block_sum` reduces a weight-shaped tensor to blocks; both are
differentiable, run on the tensor's device and cost O(weight size).
"""

from __future__ import annotations

import math
import numbers
import re

import torch
from torch import nn

from ._tile_scale import native_tile_scale, supports_native_tile_scale

__all__ = ["BlockGrid", "parse_block", "PRUNABLE_TYPES"]

PRUNABLE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""Module types whose ``weight`` a :class:`BlockGrid` can tile."""

_BLOCK_PATTERN = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")


def parse_block(block, name: str = "block") -> tuple[int, int]:
    """``(B_r, B_c)`` from an int ``B``, a pair ``(B_r, B_c)`` or a string ``"BrxBc"``.

    ``B_r`` counts matrix rows (inputs: ``H*W*C_in`` for a convolution) and ``B_c``
    matrix columns (outputs).

    Raises
    ------
    TypeError
        If ``block`` is none of the accepted forms.
    ValueError
        If a size is not a positive integer.

    Examples
    --------
    >>> parse_block(8), parse_block((4, 2)), parse_block("20x20")
    ((8, 8), (4, 2), (20, 20))
    """
    if isinstance(block, str):
        match = _BLOCK_PATTERN.fullmatch(block)
        if match is None:
            raise ValueError(
                f"`{name}` as a string must look like '8x8' (rows x columns); "
                f"got {block!r}."
            )
        sizes = (int(match.group(1)), int(match.group(2)))
    elif isinstance(block, numbers.Integral) and not isinstance(block, bool):
        sizes = (int(block), int(block))
    elif isinstance(block, tuple | list) and len(block) == 2:
        if not all(
            isinstance(b, numbers.Integral) and not isinstance(b, bool) for b in block
        ):
            raise TypeError(f"`{name}` sizes must be integers; got {block!r}.")
        sizes = (int(block[0]), int(block[1]))
    else:
        raise TypeError(
            f"`{name}` must be an int, a pair of ints or a string like '8x8'; "
            f"got {block!r}."
        )
    if min(sizes) < 1:
        raise ValueError(f"`{name}` sizes must be >= 1; got {block!r}.")
    return sizes


class BlockGrid:
    """The block tiling of one weight tensor.

    Parameters
    ----------
    weight_shape : tuple of int
        Shape of a ``Linear`` weight ``(out, in)`` or a convolution kernel
        ``(C_out, C_in, *k)``.
    block : int, pair of int or str
        Block size ``B_r x B_c`` on the ``fan_in x fan_out`` matrix (see module
        docstring); see :func:`parse_block`.

    Attributes
    ----------
    block_shape : tuple of int
        ``(B_r, B_c)``.
    matrix_shape : tuple of int
        ``(fan_in, fan_out)``: ``(in, out)`` or ``(prod(k) * C_in, C_out)``.
    grid_shape : tuple of int
        ``(n_row_blocks, n_col_blocks)``, ragged edge blocks included.
    n_blocks : int
        Number of blocks.

    Raises
    ------
    ValueError
        If the block is larger than the matrix in either direction.

    Examples
    --------
    >>> grid = BlockGrid((400, 390), 20)  # Criteo's first layer: 390 in, 400 out
    >>> grid.matrix_shape, grid.grid_shape, grid.n_blocks
    ((390, 400), (20, 20), 400)
    >>> grid.block_sizes()[-1, 0].item()  # the ragged last block row: 10 x 20
    200
    """

    def __init__(self, weight_shape, block):
        weight_shape = tuple(int(s) for s in weight_shape)
        if len(weight_shape) < 2 or min(weight_shape) < 1:
            raise ValueError(
                "`weight_shape` must be (out, in) or (C_out, C_in, *kernel) with "
                f"positive sizes; got {weight_shape}."
            )
        self.weight_shape = weight_shape
        self.block_shape = parse_block(block)
        fan_out, fan_in = weight_shape[0], math.prod(weight_shape[1:])
        self.matrix_shape = (fan_in, fan_out)
        rows, cols = self.block_shape
        if rows > fan_in or cols > fan_out:
            raise ValueError(
                f"`block` {rows}x{cols} must fit in the {fan_in}x{fan_out} weight "
                f"matrix (fan_in x fan_out) of a weight of shape {weight_shape}."
            )
        self.grid_shape = (-(-fan_in // rows), -(-fan_out // cols))
        self.n_blocks = self.grid_shape[0] * self.grid_shape[1]
        # Zero padding that completes the ragged edge blocks inside computations
        # (never stored: results are cropped back to the weight's shape).
        self._pad = (
            self.grid_shape[0] * rows - fan_in,
            self.grid_shape[1] * cols - fan_out,
        )
        # Fast path: with no padding and B_r dividing C_in, a block is a slab of
        # B_c outputs x B_r consecutive channels at one kernel position, so the
        # weight's own memory can be viewed as 5-D tiles (no permutation, no copy).
        self._native = not any(self._pad) and weight_shape[1] % rows == 0

    def __repr__(self) -> str:
        rows, cols = self.block_shape
        return (
            f"BlockGrid(weight_shape={self.weight_shape}, block={rows}x{cols}, "
            f"grid={self.grid_shape[0]}x{self.grid_shape[1]})"
        )

    def _native_tiles(self, tensor: torch.Tensor) -> torch.Tensor:
        """The weight's memory as ``(n_col_blocks, B_c, C_in / B_r, B_r, prod(k))``."""
        rows, cols = self.block_shape
        n_kernel = math.prod(self.weight_shape[2:])
        return tensor.reshape(
            self.grid_shape[1], cols, self.weight_shape[1] // rows, rows, n_kernel
        )

    def _native_values(self, block_values: torch.Tensor) -> torch.Tensor:
        """Block values as ``(n_col_blocks, C_in / B_r, prod(k))``, the tiles' order.

        Block row ``i = position * (C_in / B_r) + channel block``.
        """
        n_kernel = math.prod(self.weight_shape[2:])
        channel_blocks = self.weight_shape[1] // self.block_shape[0]
        by_tile = block_values.reshape(n_kernel, channel_blocks, self.grid_shape[1])
        return by_tile.permute(2, 1, 0)

    def _to_tiles(self, weight: torch.Tensor) -> torch.Tensor:
        """The transposed matrix ``(fan_out, fan_in)``, padded, as 4-D tiles.

        Shape ``(n_col_blocks, B_c, n_row_blocks, B_r)``. A ``Linear`` weight is
        already ``(fan_out, fan_in)``; a kernel ``(C_out, C_in, *k)`` is permuted to
        ``(C_out, *k, C_in)`` so that a matrix row is ``position * C_in + channel``.
        """
        if weight.dim() > 2:
            weight = weight.movedim(1, -1)
        matrix = weight.reshape(self.weight_shape[0], -1)
        if any(self._pad):
            matrix = torch.nn.functional.pad(matrix, (0, self._pad[0], 0, self._pad[1]))
        rows, cols = self.block_shape
        n_rows, n_cols = self.grid_shape
        return matrix.view(n_cols, cols, n_rows, rows)

    def _from_tiles(self, tiles: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`_to_tiles`: crop the padding, restore the layout."""
        fan_in, fan_out = self.matrix_shape
        matrix = tiles.reshape(tiles.shape[0] * tiles.shape[1], -1)
        if any(self._pad):
            matrix = matrix[:fan_out, :fan_in]
        if len(self.weight_shape) == 2:
            return matrix
        c_out, c_in, *kernel = self.weight_shape
        return matrix.reshape(c_out, *kernel, c_in).movedim(-1, 1)

    def scale(self, weight: torch.Tensor, block_values: torch.Tensor) -> torch.Tensor:
        """``weight`` times each block's value (``block_values`` of ``grid_shape``).

        Broadcast, never expanded to the weight's size; differentiable in both.
        """
        if self._native:
            tiles = self._native_tiles(weight)
            values = self._native_values(block_values)
            if (
                values.shape[2] > 1  # kernel axis: with 1 entry torch is as fast
                and supports_native_tile_scale(weight)
                and values.dtype == weight.dtype
                and values.device == weight.device
            ):
                return native_tile_scale(tiles, values).reshape(self.weight_shape)
            tiles = tiles * values[:, None, :, None, :]
            return tiles.reshape(self.weight_shape)
        tiles = self._to_tiles(weight) * block_values.t()[:, None, :, None]
        return self._from_tiles(tiles)

    def expand(self, block_values: torch.Tensor) -> torch.Tensor:
        """Broadcast ``grid_shape`` values to a weight-shaped tensor."""
        ones = block_values.new_ones(self.weight_shape)
        return self.scale(ones, block_values)

    def block_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum a weight-shaped tensor per block: ``(n_row_blocks, n_col_blocks)``."""
        if self._native:
            sums = self._native_tiles(values).sum(dim=(1, 3))
            return sums.permute(2, 1, 0).reshape(self.grid_shape)
        return self._to_tiles(values).sum(dim=(1, 3)).t()

    def block_norms(self, weight: torch.Tensor) -> torch.Tensor:
        """Frobenius norm of every block, ``(n_row_blocks, n_col_blocks)``."""
        return self.block_sum(weight.square()).sqrt()

    def block_sizes(self) -> torch.Tensor:
        """Number of weight entries in every block (smaller on ragged edges)."""
        return self.block_sum(torch.ones(self.weight_shape)).round().long()
