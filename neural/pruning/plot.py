"""One-call heatmaps of a pruner's block masks and SA++ attention (arXiv:2402.17902).

A pruned layer's state lives on its block grid: ``mask`` of shape
``(n_row_blocks, n_col_blocks)`` over the layer's ``fan_in x fan_out`` matrix
(:class:`~neural.blocks.BlockGrid`; rows are input blocks, columns output blocks),
and for SequentialAttention++ the attention ``A = n_blocks softmax(L)`` of the same
shape (mean 1, clipped). Both functions take a pruner and a layer, a single
parametrization module, or a 2-D tensor or array (a snapshot taken during
training), and draw on ``ax`` (a new figure when ``None``). matplotlib is imported
only when a plot is drawn.

* :func:`plot_block_mask`: the blocks *in force*, kept (dark) or pruned (light).
  In a dense phase nothing is masked, so every block shows as kept, as
  :meth:`~neural.pruning.BlockPruner.report` counts them.
* :func:`plot_attention`: ``A`` on a logarithmic colour scale centred at 1
  (blocks above the mean attention red, below blue).
"""

from __future__ import annotations

import numpy as np
import torch

from nonconvex_reg.validation import check_scalar

from ..parametrizations import BlockAttention, BlockMask
from .base import BlockPruner

__all__ = ["plot_attention", "plot_block_mask"]


def _layer_index(pruner, layer) -> int:
    """Index into ``pruner.layers`` of ``layer`` (an index or a dotted name)."""
    names = [spec.name for spec in pruner.layers]
    if not names:
        raise ValueError("`pruner` prunes no layer; there is nothing to plot.")
    if isinstance(layer, bool) or not isinstance(layer, int | str):
        raise TypeError(
            f"`layer` must be a layer index or a dotted name; got {type(layer)}."
        )
    if isinstance(layer, int):
        if not -len(names) <= layer < len(names):
            raise ValueError(
                f"`layer` must be in [{-len(names)}, {len(names) - 1}] (pruned "
                f"layers {names}); got {layer}."
            )
        return layer % len(names)
    name = layer.removesuffix(".weight")
    if name not in names:
        raise ValueError(
            f"`layer` must be one of the pruned layers {names}; got {layer!r}."
        )
    return names.index(name)


def _source_module(source, layer):
    """``(module, name)`` from a pruner and layer, or ``(source, None)``."""
    if isinstance(source, BlockPruner):
        index = _layer_index(source, 0 if layer is None else layer)
        return source.masks[index], source.layers[index].name
    if layer is not None:
        raise ValueError("`layer` applies to a pruner only; got a layer's state.")
    return source, None


def _as_grid(values, name) -> np.ndarray:
    """A 2-D float array from a tensor or array-like."""
    if isinstance(values, torch.Tensor):
        values = values.detach().to("cpu", torch.float64).numpy()
    array = np.asarray(values, dtype=float)
    if array.ndim != 2:
        raise ValueError(
            f"`{name}` must be 2-D (n_row_blocks, n_col_blocks); got shape "
            f"{array.shape}."
        )
    return array


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def _label(ax, title, shape):
    ax.set_title(title)
    ax.set_xlabel(f"output block (of {shape[1]})")
    ax.set_ylabel(f"input block (of {shape[0]})")


def plot_block_mask(source, layer=None, ax=None):
    """Heatmap of a layer's kept blocks.

    Parameters
    ----------
    source : BlockPruner, BlockMask or 2-D tensor or array
        A pruner (with ``layer``), one layer's parametrization
        (``pruner.masks[i]``), or a mask snapshot of shape
        ``(n_row_blocks, n_col_blocks)`` (nonzero = kept).
    layer : int or str, optional
        With a pruner: the index into ``pruner.layers`` or the dotted name of a
        pruned layer; default the first pruned layer.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``source`` is none of the accepted types.
    ValueError
        If ``layer`` names no pruned layer or the snapshot is not 2-D.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from torch import nn
    >>> import neural
    >>> from neural.pruning import plot_block_mask
    >>> pruner = neural.prune(nn.Sequential(nn.Linear(64, 64)), "magnitude",
    ...                       sparsity=0.75, block=8, total_steps=1, min_blocks=1,
    ...                       timeline=neural.schedules.one_shot(1, finetune=1.0))
    >>> plot_block_mask(pruner, layer="0").get_title()
    '0: 16/64 blocks kept'
    """
    module, name = _source_module(source, layer)
    if isinstance(module, BlockMask):
        in_force = module.mask if module.masking else torch.ones_like(module.mask)
        kept = _as_grid(in_force, "mask")
    elif isinstance(module, torch.Tensor | np.ndarray | list | tuple):
        kept = _as_grid(module, "source") != 0
    else:
        raise TypeError(
            "`source` must be a BlockPruner, a BlockMask or a 2-D tensor or array; "
            f"got {type(module).__name__}."
        )
    ax = _axes(ax)
    ax.imshow(kept, cmap="Greys", vmin=0, vmax=1.25, interpolation="nearest")
    title = f"{int(kept.sum())}/{kept.size} blocks kept"
    _label(ax, title if name is None else f"{name}: {title}", kept.shape)
    return ax


def plot_attention(source, layer=None, ax=None, *, limit=None, colorbar=True):
    """Heatmap of SA++'s block attention ``A = n_blocks softmax(L)`` (log scale).

    Parameters
    ----------
    source : SequentialAttentionPP, BlockAttention or 2-D tensor or array
        An SA++ pruner (with ``layer``), one layer's parametrization, or an
        attention snapshot (``pruner.masks[i].attention()``) of positive values.
    layer : int or str, optional
        With a pruner: the index or dotted name of a pruned layer; default the
        first.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    limit : float, optional
        Colour range ``[1 / limit, limit]``, ``> 1`` (the same for several
        snapshots makes them comparable); default from the data, see Notes.
    colorbar : bool, default=True
        Add a colour bar to ``ax``'s figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``source`` has no attention (e.g. an ACDC pruner).
    ValueError
        If ``layer`` names no pruned layer, the snapshot is not 2-D or not
        positive, or ``limit <= 1``.

    Notes
    -----
    The colour scale is logarithmic and symmetric about ``A = 1`` (the mean):
    ``[1/r, r]`` with ``r = limit``, by default the largest of ``max A`` and
    ``1 / min A``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from neural.pruning import plot_attention
    >>> ax = plot_attention(torch.tensor([[0.5, 1.0], [2.0, 0.5]]), colorbar=False)
    >>> ax.get_title()
    'attention, range [0.5, 2]'
    """
    from matplotlib.colors import LogNorm

    if limit is not None:
        limit = check_scalar(limit, "limit", low=1.0, low_inclusive=False)

    module, name = _source_module(source, layer)
    if isinstance(module, BlockAttention):
        with torch.no_grad():
            attention = _as_grid(module.attention(), "attention")
    elif isinstance(module, BlockMask):
        raise TypeError(
            f"`source` has no attention: {type(module).__name__} scores blocks by "
            "magnitude; use plot_block_mask, or an SA++ pruner."
        )
    elif isinstance(module, torch.Tensor | np.ndarray | list | tuple):
        attention = _as_grid(module, "source")
        if not np.all(attention > 0):
            raise ValueError(
                "`source` must hold positive attention values; got minimum "
                f"{attention.min():g}."
            )
    else:
        raise TypeError(
            "`source` must be a SequentialAttentionPP pruner, a BlockAttention or a "
            f"2-D tensor or array; got {type(module).__name__}."
        )
    ax = _axes(ax)
    if limit is None:
        limit = max(float(attention.max()), 1.0 / float(attention.min()), 1.0 + 1e-6)
    image = ax.imshow(
        attention,
        cmap="RdBu_r",
        norm=LogNorm(vmin=1.0 / limit, vmax=limit),
        interpolation="nearest",
    )
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="attention A")
    title = f"attention, range [{attention.min():.2g}, {attention.max():.2g}]"
    _label(ax, title if name is None else f"{name}: {title}", attention.shape)
    return ax
