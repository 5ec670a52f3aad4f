"""``export_block_sparse``: swap a finalized pruned model's layers for BSR ones.

After :meth:`neural.BlockPruner.finalize` every pruned layer holds exact block
zeros on its grid (the task of arXiv:2402.17902: ``B x B`` blocks, a ``(1 - s)``
fraction kept). Exporting stores those layers in torch BSR form
(:mod:`neural.export.modules`) so that inference does ``(1 - s)`` of the work.

Sparse storage does not pay everywhere: at low sparsity or on tiny layers the
dense kernel wins. With ``policy="measure"`` each layer is timed dense and
block-sparse on its own input shape, at the batch size the caller names, the
two forms interleaved in rounds (``neural.export.timing.interleaved_ms``);
the layer goes block-sparse when the median of the per-round speedups clears
``min_speedup`` by a relative ``margin``, so that timing noise near the bar
does not flip decisions from one export to the next. The report says which and
why. The exported model is for inference only (eval mode, no autograd).

Block-sparse convolutions compute on channels-last activations and return them
channels-last; when one is exported, the model's remaining 4-D weights are
converted to channels-last memory too, so that activations keep one layout from
layer to layer (values are unchanged).
"""

from __future__ import annotations

import copy
import math
import statistics
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from nonconvex_reg.validation import check_choice, check_int, check_scalar

from ..blocks import parse_block
from ..pruning.report import PruningReport, _markdown_table
from .modules import SUPPORTED_CPU_DTYPES, BlockSparseConv2d, BlockSparseLinear
from .timing import interleaved_ms, paired_ratios

__all__ = ["ExportReport", "ExportedLayer", "export_block_sparse"]

_CUDA_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class ExportedLayer:
    """What happened to one pruned layer.

    Times are per forward call in ms: the median over the timing rounds of
    each round's fastest call; ``ratios`` are the per-round speedups (dense over
    block-sparse time).
    """

    name: str
    kind: str
    weight_shape: tuple[int, ...]
    block: tuple[int, int]
    density: float
    input_shape: tuple[int, ...] | None
    dense_ms: float | None
    sparse_ms: float | None
    dense_bytes: int
    sparse_bytes: int
    decision: str
    reason: str
    ratios: tuple[float, ...] | None = None

    @property
    def speedup(self) -> float | None:
        """The median per-round speedup, when the layer was timed."""
        if not self.ratios:
            return None
        return statistics.median(self.ratios)


@dataclass(frozen=True)
class ExportReport:
    """Per-layer decisions of :func:`export_block_sparse`; ``str()`` is a table.

    In Jupyter the same table renders as Markdown.
    """

    policy: str
    min_speedup: float
    layers: tuple[ExportedLayer, ...]
    margin: float = 0.0
    channels_last: bool = False

    @property
    def n_sparse(self) -> int:
        """Layers exported block-sparse."""
        return sum(layer.decision == "block-sparse" for layer in self.layers)

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {
            "policy": self.policy,
            "min_speedup": self.min_speedup,
            "margin": self.margin,
            "channels_last": self.channels_last,
            "layers": [{**asdict(r), "speedup": r.speedup} for r in self.layers],
        }

    def _table(self) -> list[tuple[str, ...]]:
        """Cells of every layer row, shared by ``str()`` and the Markdown table."""
        rows = []
        for r in self.layers:
            rows.append(
                (
                    r.name,
                    "x".join(str(s) for s in r.weight_shape),
                    f"{r.block[0]:>3}x{r.block[1]:<2}",
                    f"{r.density:.3f}",
                    "-" if r.dense_ms is None else f"{r.dense_ms:.3f}",
                    "-" if r.sparse_ms is None else f"{r.sparse_ms:.3f}",
                    "-" if r.speedup is None else f"{r.speedup:.2f}x",
                    f"{r.decision}: {r.reason}",
                )
            )
        return rows

    def _title(self) -> str:
        title = f"export ({self.policy}, min speedup {self.min_speedup:g}x"
        if self.policy == "measure":
            title += f", margin {self.margin:.0%}"
        if self.channels_last:
            title += ", channels-last"
        return title + ")"

    def __str__(self) -> str:
        def line(cells):
            *aligned, decision = cells
            text = " ".join(
                f"{cell:{align}}"
                for cell, (_, align) in zip(aligned, _COLUMNS, strict=True)
            )
            return f"{text}  {decision}"

        header = tuple(title for title, _ in _COLUMNS) + ("decision",)
        return "\n".join([self._title(), *map(line, [header, *self._table()])])

    def _repr_markdown_(self) -> str:
        """The table of ``str()`` in Markdown (Jupyter renders it)."""
        header = tuple(title for title, _ in _COLUMNS) + ("decision",)
        align = tuple(a for _, a in _COLUMNS) + ("<",)
        rows = [tuple(cell.strip() for cell in row) for row in self._table()]
        return f"**{self._title()}**\n\n" + _markdown_table(header, rows, align)


#: Titles and text alignments of :class:`ExportReport`'s columns (decision aside).
_COLUMNS = (
    ("layer", "<22"),
    ("shape", "<16"),
    ("block", ">6"),
    ("density", ">7"),
    ("dense ms", ">9"),
    ("sparse ms", ">9"),
    ("speedup", ">7"),
)


def export_block_sparse(
    model,
    *,
    layers=None,
    example_inputs=None,
    policy="measure",
    min_speedup=1.0,
    batch_size=None,
    repeats=15,
    rounds=5,
    margin=0.05,
    ragged="error",
    inplace=False,
):
    """Export a finalized block-pruned model to block-sparse layers.

    Parameters
    ----------
    model : torch.nn.Module
        A model whose pruner was finalized (no parametrization left).
    layers : mapping of str to block, PruningReport or None
        The layers to export and their grid blocks ``(B_r, B_c)`` (any form
        :func:`neural.parse_block` takes), or the pruner's report (its pruned
        rows). Default: the modules that ``finalize()`` marked with
        ``pruned_block_shape``.
    example_inputs : tensor or tuple of tensors, optional
        One input batch for ``model``; each layer is timed on the input shape it
        sees. Required to measure convolutions.
    policy : {"measure", "sparse"}, default="measure"
        ``"measure"`` keeps a layer dense unless block-sparse is at least
        ``min_speedup * (1 + margin)`` times faster on its input; ``"sparse"``
        exports every layer that has a zero block.
    min_speedup : float, default=1.0
        In ``(0, inf)``.
    batch_size : int, optional
        The batch size to time layers at (their inputs' first axis): default
        that of ``example_inputs``, or 64 without them. Speedups depend on it;
        name the batch size the model will serve.
    repeats : int, default=15
        Timed calls per layer and form, spread over ``rounds``.
    rounds : int, default=5
        Rounds of interleaved dense and block-sparse calls; the speedup is the
        median of the per-round ratios.
    margin : float, default=0.05
        In ``[0, inf)``: how far the speedup must clear ``min_speedup``
        (relatively) for a layer to go block-sparse.
    ragged : {"error", "dense"}, default="error"
        A layer whose block does not divide its weight matrix (a ragged edge
        block, which the pruners allow but BSR storage cannot hold): raise, or
        keep it dense and say so in the report.
    inplace : bool, default=False
        Modify ``model`` itself instead of a deep copy.

    Returns
    -------
    model : torch.nn.Module
        The exported model, in eval mode (block-sparse layers are inference-only).
    report : ExportReport

    Raises
    ------
    ValueError
        If a layer is still parametrized (not finalized), is missing, or its
        block does not divide its weight matrix; if a convolution is to be
        measured without ``example_inputs``.
    TypeError
        If a layer is not ``Linear`` or ``Conv2d`` (groups 1, zero padding) or
        its dtype is not supported on its device.

    On any error ``model`` is left untouched.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model)}.")
    policy = check_choice(policy, "policy", ("measure", "sparse"))
    min_speedup = check_scalar(min_speedup, "min_speedup", low=0.0, low_inclusive=False)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", low=1)
    repeats = check_int(repeats, "repeats", low=1)
    rounds = check_int(rounds, "rounds", low=1)
    margin = check_scalar(margin, "margin", low=0.0)
    ragged = check_choice(ragged, "ragged", ("error", "dense"))
    _check_finalized(model)
    targets = _resolve_targets(model, layers)
    kept_ragged = []
    for name, block in targets.items():
        module = model.get_submodule(name)
        _check_layer(name, module, block)
        if _divides(module, block):
            continue
        if ragged == "error":
            raise ValueError(
                f"layer {name!r}: block {block[0]}x{block[1]} does not divide its "
                f"{' x '.join(map(str, _matrix_shape(module)))} weight matrix; BSR "
                "storage needs whole blocks (ragged='dense' keeps such layers dense)."
            )
        kept_ragged.append(name)
    ragged_rows = [
        _ragged_row(name, model.get_submodule(name), targets.pop(name))
        for name in kept_ragged
    ]
    input_shapes = {}
    if policy == "measure":
        input_shapes = _input_shapes(model, targets, example_inputs, batch_size)

    if not inplace:
        model = copy.deepcopy(model)
    timing = (
        _Timing(min_speedup, margin, repeats, rounds) if policy == "measure" else None
    )
    rows, replacements = ragged_rows, {}
    for name, block in targets.items():
        row, replacement = _export_layer(
            name, model.get_submodule(name), block, input_shapes.get(name), timing
        )
        rows.append(row)
        if replacement is not None:
            replacements[name] = replacement
    for name, replacement in replacements.items():
        model = _replace(model, name, replacement)
    model, channels_last = to_channels_last_if_sparse_conv(model)
    report = ExportReport(policy, min_speedup, tuple(rows), margin, channels_last)
    return model.eval(), report


def to_channels_last_if_sparse_conv(model) -> tuple[nn.Module, bool]:
    """``model`` with channels-last 4-D weights if it holds a block-sparse conv.

    Returns the model and whether it was converted.
    """
    if not any(isinstance(m, BlockSparseConv2d) for m in model.modules()):
        return model, False
    return model.to(memory_format=torch.channels_last), True


def _replace(model, name, module):
    """``model`` with the submodule ``name`` replaced (the root itself for ``""``)."""
    if not name:
        return module
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)
    return model


def _check_finalized(model) -> None:
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module):
            raise ValueError(
                f"layer {name!r} still has pruning parametrizations: call "
                "pruner.finalize() before exporting."
            )


def _resolve_targets(model, layers) -> dict[str, tuple[int, int]]:
    if layers is None:
        targets = {
            name: module.pruned_block_shape
            for name, module in model.named_modules()
            if hasattr(module, "pruned_block_shape")
        }
        if not targets:
            raise ValueError(
                "`model` has no layer marked by pruner.finalize(); pass `layers` "
                "(a {name: block} mapping or the pruner's report)."
            )
        return targets
    if isinstance(layers, PruningReport):
        return {r.name: tuple(r.block) for r in layers.layers if r.status == "pruned"}
    if not hasattr(layers, "items"):
        raise TypeError(
            f"`layers` must be a mapping name -> block or a PruningReport; got "
            f"{type(layers)}."
        )
    known = dict(model.named_modules())
    targets = {}
    for name, block in layers.items():
        if name not in known:
            raise ValueError(f"`layers` names {name!r}, which is not in `model`.")
        targets[name] = parse_block(block, f"layers[{name!r}]")
    return targets


def _check_layer(name, module, block) -> None:
    if isinstance(module, nn.Conv2d):
        if module.groups != 1 or module.padding_mode != "zeros":
            raise TypeError(
                f"layer {name!r}: only Conv2d with groups=1 and zero padding can be "
                f"exported; got groups={module.groups}, "
                f"padding_mode={module.padding_mode!r}."
            )
    elif not isinstance(module, nn.Linear):
        raise TypeError(
            f"layer {name!r}: only nn.Linear and nn.Conv2d can be exported; got "
            f"{type(module).__name__}."
        )
    weight = module.weight
    supported = _CUDA_DTYPES if weight.device.type == "cuda" else SUPPORTED_CPU_DTYPES
    if weight.dtype not in supported:
        raise TypeError(
            f"layer {name!r}: dtype {weight.dtype} is not supported on "
            f"{weight.device.type}; use one of {[str(d) for d in supported]}."
        )


def _matrix_shape(module) -> tuple[int, int]:
    """``(in, out)``: the shape of the grid's matrix (``H*W*C_in`` rows for a conv)."""
    weight = module.weight
    return math.prod(weight.shape[1:]), weight.shape[0]


def _divides(module, block) -> bool:
    n_rows, n_cols = _matrix_shape(module)
    return n_rows % block[0] == 0 and n_cols % block[1] == 0


def _dense_bytes(module) -> int:
    tensors = [module.weight] + ([module.bias] if module.bias is not None else [])
    return sum(t.numel() * t.element_size() for t in tensors)


def _ragged_row(name, module, block) -> ExportedLayer:
    return ExportedLayer(
        name,
        type(module).__name__,
        tuple(module.weight.shape),
        block,
        float("nan"),
        None,
        None,
        None,
        _dense_bytes(module),
        _dense_bytes(module),
        "dense",
        "block does not divide the weight matrix (ragged edge)",
    )


def _input_shapes(model, targets, example_inputs, batch_size):
    """Input shape of every target layer at ``batch_size`` rows.

    From one forward pass of ``example_inputs`` (their first axis replaced by
    ``batch_size`` when given), or synthesized for Linear layers.
    """
    if example_inputs is None:
        shapes = {}
        for name in targets:
            module = model.get_submodule(name)
            if not isinstance(module, nn.Linear):
                raise ValueError(
                    f"layer {name!r} is a convolution: pass `example_inputs` to "
                    "time it, or use policy='sparse'."
                )
            shapes[name] = (batch_size or 64, module.in_features)
        return shapes
    captured = capture_inputs(model, targets, example_inputs)
    return {
        name: tuple(x.shape) if batch_size is None else (batch_size, *x.shape[1:])
        for name, x in captured.items()
    }


def capture_inputs(model, names, example_inputs) -> dict[str, torch.Tensor]:
    """The input tensor each layer in ``names`` receives when ``model`` runs once.

    ``model`` runs in eval mode under inference mode (so nothing in it changes)
    and its train/eval state is restored afterwards.

    Raises
    ------
    ValueError
        If the input never reaches one of the layers.
    """
    captured = {}

    def record(name):
        def hook(_module, args, _output):
            captured.setdefault(name, args[0])

        return hook

    hooks = [
        model.get_submodule(name).register_forward_hook(record(name)) for name in names
    ]
    was_training = model.training
    try:
        model.eval()
        inputs = (
            example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        )
        with torch.inference_mode():
            model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    missing = sorted(set(names) - set(captured))
    if missing:
        raise ValueError(f"`example_inputs` never reached layers {missing}.")
    return captured


@dataclass(frozen=True)
class _Timing:
    """The measuring policy's settings."""

    min_speedup: float
    margin: float
    repeats: int
    rounds: int

    def compare(self, dense, sparse, x):
        """Per-round dense and block-sparse times of one layer on ``x``."""
        was_training = dense.training
        dense.eval()
        try:
            times = interleaved_ms(
                (lambda: dense(x), lambda: sparse(x)),
                rounds=self.rounds,
                repeats=self.repeats,
            )
        finally:
            dense.train(was_training)
        return times

    def decide(self, ratios) -> tuple[str, str]:
        speedup = statistics.median(ratios)
        spread = f"rounds {min(ratios):.2f}-{max(ratios):.2f}x"
        if speedup >= self.min_speedup * (1 + self.margin):
            return "block-sparse", f"{speedup:.2f}x faster ({spread})"
        if speedup >= self.min_speedup:
            return "dense", f"{speedup:.2f}x is within the margin ({spread})"
        return "dense", f"block-sparse would be {speedup:.2f}x ({spread})"


def _timing_input(module, shape):
    """A random input of ``shape`` in the layout the layer sees once exported.

    Convolutions get channels-last memory: the export makes a model's
    activations channels-last as soon as it exports one convolution.
    """
    weight = module.weight
    x = torch.randn(shape, dtype=weight.dtype, device=weight.device)
    if isinstance(module, nn.Conv2d):
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _export_layer(name, module, block, input_shape, timing):
    """The report row and the replacement module (``None``: stays dense)."""
    b_r, b_c = block
    if isinstance(module, nn.Conv2d):
        sparse = BlockSparseConv2d.from_conv(module, (b_c, b_r))
    else:
        sparse = BlockSparseLinear.from_linear(module, (b_c, b_r))
    weight = module.weight
    dense_bytes = _dense_bytes(module)
    dense_ms = sparse_ms = ratios = None
    if sparse.density == 1.0:
        decision, reason = "dense", "no zero block"
    elif timing is None:
        decision, reason = "block-sparse", "policy 'sparse'"
    else:
        dense_times, sparse_times = timing.compare(
            module, sparse, _timing_input(module, input_shape)
        )
        ratios = tuple(paired_ratios(dense_times, sparse_times))
        dense_ms = statistics.median(dense_times)
        sparse_ms = statistics.median(sparse_times)
        decision, reason = timing.decide(ratios)
    row = ExportedLayer(
        name,
        type(module).__name__,
        tuple(weight.shape),
        (b_r, b_c),
        sparse.density,
        input_shape,
        dense_ms,
        sparse_ms,
        dense_bytes,
        sparse.storage_bytes(),
        decision,
        reason,
        ratios,
    )
    return row, sparse if decision == "block-sparse" else None
