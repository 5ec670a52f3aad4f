"""``sapp bench speed``: dense vs block-sparse inference speed, side by side in one run.

Used by ``sapp bench speed``, ``sapp bench export`` (:mod:`benchmarks.export`)
and ``sapp bench overhead``. For a layer the
contenders are the dense product, torch's two BSR paths (``F.linear(x, W_bsr)``
and ``torch.mm(W_bsr, x^T)^T``) and the exported :class:`BlockSparseLinear`; for
a whole model, the dense finalized model against its export, per pruned layer
and whole. Contenders run interleaved in rounds
(:func:`neural.export.timing.interleaved_ms`); a time is the median over the
rounds of each round's fastest call.

The ideal speedup of a layer at block sparsity ``s`` is ``1 / (1 - s)``. A whole
model's ideal is lower: Amdahl's limit ``1 / ((1 - f) + f (1 - s))``, where
``f`` is the share of the dense model's time spent in the pruned layers
(:func:`amdahl_limit`, with each layer's own ``f`` and ``s``).
"""

from __future__ import annotations

import copy
import json
import math
import statistics
import warnings
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from neural import cli_types
from neural.export import BlockSparseConv2d, BlockSparseLinear, export_block_sparse
from neural.export.convert import capture_inputs
from neural.export.timing import interleaved_ms

from .results import markdown_table

__all__ = [
    "SPEED_MODELS",
    "LayerSpeed",
    "ModelSpeed",
    "PrunedLayerSpeed",
    "add_arguments",
    "amdahl_limit",
    "block_sparse_linear",
    "layer_speed",
    "model_speed",
    "pruned_layer_speeds",
    "pruned_model",
    "run",
    "speed_report",
]


@dataclass(frozen=True)
class LayerSpeed:
    """Milliseconds per call of one Linear layer under each implementation."""

    shape: tuple[int, int]
    block: int
    sparsity: float
    batch: int
    dense_ms: float
    torch_linear_bsr_ms: float
    torch_mm_bsr_ms: float
    sapp_ms: float
    max_relative_error: float

    @property
    def speedup(self) -> float:
        """Dense time over the export's time."""
        return self.dense_ms / self.sapp_ms

    @property
    def vs_torch_best(self) -> float:
        """Time of torch's fastest BSR path over the export's (>= 1: not slower)."""
        return min(self.torch_linear_bsr_ms, self.torch_mm_bsr_ms) / self.sapp_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary, speedups included."""
        return {
            **asdict(self),
            "speedup": self.speedup,
            "vs_torch_best": self.vs_torch_best,
            "ideal": 1.0 / (1.0 - self.sparsity),
        }


@dataclass(frozen=True)
class ModelSpeed:
    """Whole-model latency (ms per batch) and throughput (rows per second).

    ``dense_channels_last_ms`` times the dense model with channels-last weights
    and input (convolutional models only): the layout the export runs in, so
    the speedup over it is the share owed to block sparsity alone.
    ``amdahl_limit`` is the speedup the model would reach if every pruned layer
    ran at its ideal ``1 / (1 - s)`` and the rest as in the dense model.
    """

    model: str
    batch: int
    dense_ms: float
    exported_ms: float
    max_relative_error: float
    amdahl_limit: float | None = None
    dense_channels_last_ms: float | None = None

    @property
    def speedup(self) -> float:
        """Dense time over the exported model's time."""
        return self.dense_ms / self.exported_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary with throughputs."""
        record = {
            **asdict(self),
            "speedup": self.speedup,
            "dense_rows_per_s": 1e3 * self.batch / self.dense_ms,
            "exported_rows_per_s": 1e3 * self.batch / self.exported_ms,
        }
        if self.dense_channels_last_ms is not None:
            record["speedup_vs_channels_last"] = (
                self.dense_channels_last_ms / self.exported_ms
            )
        return record


@dataclass(frozen=True)
class PrunedLayerSpeed:
    """One pruned layer of a model, timed dense and (if exported) block-sparse.

    Each form runs on the input it receives in its model: the dense layer in the
    dense model, the block-sparse one in the exported model (channels-last for a
    convolution). ``sparse_ms`` is None for a layer the export kept dense.
    """

    layer: str
    batch: int
    input_shape: tuple[int, ...]
    density: float
    dense_ms: float
    sparse_ms: float | None

    @property
    def speedup(self) -> float | None:
        """Dense time over the block-sparse time (None: kept dense)."""
        return None if self.sparse_ms is None else self.dense_ms / self.sparse_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary with the speedup and the ideal."""
        return {**asdict(self), "speedup": self.speedup, "ideal": 1 / self.density}


def amdahl_limit(model_ms, layers) -> float:
    """Whole-model speedup if every pruned layer ran at its ideal ``1 / (1 - s)``.

    ``model_ms`` is the dense model's time, ``layers`` the
    :class:`PrunedLayerSpeed` rows of its pruned layers (their dense times and
    densities ``1 - s``), all at one batch size. The layers are timed apart
    from the model, so under noise their sum can exceed it: their share of the
    model's time is capped at 1 (the limit is then that of the layers alone).
    """
    pruned_ms = sum(r.dense_ms for r in layers)
    if pruned_ms == 0:
        return 1.0
    share = min(pruned_ms / model_ms, 1.0)
    density = sum(r.dense_ms * r.density for r in layers) / pruned_ms
    return 1.0 / (1.0 - share * (1.0 - density))


def block_sparse_linear(n_in, n_out, block, sparsity, *, seed=0) -> nn.Linear:
    """A Linear layer keeping ``n - floor(s n)`` random ``block x block`` tiles.

    The same rounding as the pruners (``neural.pruning.base.n_kept_blocks``); the
    kept tiles are drawn uniformly without replacement.
    """
    generator = torch.Generator().manual_seed(seed)
    linear = nn.Linear(n_in, n_out)
    rows, cols = n_out // block, n_in // block
    n_blocks = rows * cols
    kept = n_blocks - math.floor(sparsity * n_blocks + 1e-9)
    mask = torch.zeros(n_blocks, dtype=torch.bool)
    mask[torch.randperm(n_blocks, generator=generator)[:kept]] = True
    mask = mask.view(rows, cols).repeat_interleave(block, 0)
    with torch.no_grad():
        linear.weight.mul_(mask.repeat_interleave(block, 1))
    linear.pruned_block_shape = (block, block)
    return linear.eval()


def layer_speed(linear, block, sparsity, batch, *, repeats=20, rounds=5) -> LayerSpeed:
    """Time ``linear`` dense, through torch's BSR paths and exported, on one batch.

    The record holds the export's largest output difference from dense,
    relative to the largest dense output.

    The four contenders run interleaved in ``rounds`` rounds
    (:func:`~neural.export.timing.interleaved_ms`); each one's time is the
    median over the rounds of its fastest call in each, so a burst of background
    load hits all of them alike.
    """
    x = torch.randn(batch, linear.in_features)
    weight = linear.weight.detach()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse BSR tensor support")
        weight_bsr = weight.to_sparse_bsr((block, block))
    sparse = BlockSparseLinear.from_linear(linear, (block, block))
    bias = linear.bias.detach()
    contenders = (
        lambda: F.linear(x, weight, bias),
        lambda: F.linear(x, weight_bsr, bias),
        lambda: torch.mm(weight_bsr, x.T).T + bias,
        lambda: sparse(x),
    )
    with torch.no_grad():
        reference = contenders[0]()
        error = (sparse(x) - reference).abs().max() / reference.abs().max()
    times = interleaved_ms(contenders, rounds=rounds, repeats=repeats)
    return LayerSpeed(
        tuple(weight.shape),
        block,
        sparsity,
        batch,
        *(statistics.median(record) for record in times),
        float(error),
    )


def _channels_last(model, inputs):
    """A channels-last copy of a convolutional ``model`` and its inputs, or None."""
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return None
    model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    inputs = tuple(
        x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x
        for x in inputs
    )
    return model, inputs


def model_speed(
    name, dense, exported, inputs, *, repeats=10, rounds=5, layers=None
) -> ModelSpeed:
    """Time ``dense`` and ``exported`` on ``inputs`` (tensor or tuple), eval mode.

    The dense model, its channels-last copy (convolutional models) and the
    export run interleaved in ``rounds`` rounds. With ``layers`` (the
    :class:`PrunedLayerSpeed` rows at this batch) the record carries Amdahl's
    limit.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    dense.eval()
    exported.eval()
    with torch.inference_mode():
        reference = dense(*inputs)
        error = (exported(*inputs) - reference).abs().max() / reference.abs().max()
    contenders = [lambda: dense(*inputs), lambda: exported(*inputs)]
    last = _channels_last(dense, inputs)
    if last is not None:
        contenders.append(lambda: last[0](*last[1]))
    with torch.inference_mode():
        times = interleaved_ms(contenders, rounds=rounds, repeats=repeats)
    dense_ms, exported_ms, *channels_last_ms = map(statistics.median, times)
    return ModelSpeed(
        name,
        inputs[0].shape[0],
        dense_ms,
        exported_ms,
        float(error),
        None if layers is None else amdahl_limit(dense_ms, layers),
        channels_last_ms[0] if channels_last_ms else None,
    )


def pruned_layer_speeds(dense, exported, inputs, densities, *, repeats=10, rounds=5):
    """Time every pruned layer of ``dense`` and, where exported, its replacement.

    ``densities`` maps the pruned layers' names to their block densities (the
    export report's rows). Each layer runs on the input it receives when its
    model processes ``inputs`` (captured with forward hooks), the two forms
    interleaved.
    """
    names = list(densities)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    captured = capture_inputs(dense, names, inputs)
    kinds = BlockSparseLinear | BlockSparseConv2d
    sparse_layers = {
        name: module
        for name, module in exported.named_modules()
        if name in densities and isinstance(module, kinds)
    }
    captured_sparse = capture_inputs(exported, list(sparse_layers), inputs)
    rows = []
    with torch.inference_mode():
        for name in names:
            x = captured[name].clone()
            original = dense.get_submodule(name)
            contenders = [lambda o=original, x=x: o(x)]
            if name in sparse_layers:
                x_sparse = captured_sparse[name].clone()
                contenders.append(lambda m=sparse_layers[name], x=x_sparse: m(x))
            times = interleaved_ms(contenders, rounds=rounds, repeats=repeats)
            rows.append(
                PrunedLayerSpeed(
                    name,
                    inputs[0].shape[0],
                    tuple(x.shape),
                    densities[name],
                    statistics.median(times[0]),
                    statistics.median(times[1]) if len(times) > 1 else None,
                )
            )
    return rows


SPEED_MODELS = ("linear", "criteo", "resnet18")
"""Models ``sapp bench speed`` can build: one 2048 x 2048 layer, the Criteo tower
(first layer pruned, arXiv:2402.17902, Section 4), a CIFAR-style ResNet-18."""


def pruned_model(name, sparsity, block, *, image_size=32, seed=0):
    """A finalized magnitude-pruned model (random weights) and an input factory.

    Speed depends on shapes and sparsity, not on trained values, so random
    weights pruned one-shot by block magnitude are representative.
    """
    from neural import prune
    from neural.models import criteo_tower, resnet18

    torch.manual_seed(seed)
    if name == "linear":
        model = block_sparse_linear(2048, 2048, block, sparsity, seed=seed)
        return nn.Sequential(model).eval(), lambda b: torch.randn(b, 2048)
    if name == "criteo":
        model, layers = criteo_tower(), ["layers.0"]
        make_input = lambda b: torch.randn(b, 390)  # noqa: E731
    elif name == "resnet18":
        model, layers = resnet18(num_classes=10, small_input=True), None
        make_input = lambda b: torch.randn(b, 3, image_size, image_size)  # noqa: E731
    else:
        raise ValueError(f"`model` must be one of {SPEED_MODELS}; got {name!r}.")
    pruner = prune(
        model, "magnitude", sparsity=sparsity, block=block, total_steps=1, layers=layers
    )
    pruner.step()
    return pruner.finalize().eval(), make_input


def speed_report(
    name,
    sparsity,
    block,
    batch_sizes,
    *,
    repeats=10,
    image_size=32,
    export_batch=64,
):
    """Export a pruned ``name`` model; time it dense vs exported, per layer and whole.

    The export keeps a layer block-sparse where it measures faster at
    ``export_batch`` (its decision table is part of the result); every batch
    size in ``batch_sizes`` is then timed for each pruned layer and for the
    whole model, with Amdahl's limit beside each whole-model figure.
    """
    dense, make_input = pruned_model(name, sparsity, block, image_size=image_size)
    exported, decisions = export_block_sparse(
        dense,
        example_inputs=make_input(export_batch),
        batch_size=export_batch,
        repeats=repeats,
        ragged="dense",
    )
    densities = {row.name: row.density for row in decisions.layers if row.density < 1.0}
    layers, models = [], []
    for batch in batch_sizes:
        inputs = make_input(batch)
        rows = pruned_layer_speeds(dense, exported, inputs, densities, repeats=repeats)
        layers += rows
        models.append(
            model_speed(name, dense, exported, inputs, repeats=repeats, layers=rows)
        )
    return (
        {
            "model": name,
            "sparsity": sparsity,
            "block": block,
            "threads": torch.get_num_threads(),
            "export_batch": export_batch,
            "export": decisions.to_dict(),
            "layers": [row.to_dict() for row in layers],
            "models": [row.to_dict() for row in models],
        },
        str(decisions),
        _speed_tables(layers, models),
    )


def _ms(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _speed_tables(layers, models) -> str:
    layer_rows = [
        [
            r.layer,
            r.batch,
            f"{r.density:.3f}",
            _ms(r.dense_ms),
            _ms(r.sparse_ms),
            "kept dense" if r.speedup is None else f"{r.speedup:.2f}x",
            f"{1 / r.density:.1f}x",
        ]
        for r in layers
    ]
    model_rows = []
    for m in models:
        d = m.to_dict()
        model_rows.append(
            [
                m.model,
                m.batch,
                _ms(m.dense_ms),
                _ms(m.dense_channels_last_ms),
                _ms(m.exported_ms),
                f"{m.speedup:.2f}x",
                "-" if m.amdahl_limit is None else f"{m.amdahl_limit:.2f}x",
                f"{d['dense_rows_per_s']:.0f}",
                f"{d['exported_rows_per_s']:.0f}",
                f"{m.max_relative_error:.1e}",
            ]
        )
    header = ["layer", "batch", "density", "dense ms", "sparse ms", "speedup"]
    lines = markdown_table([*header, "ideal"], layer_rows, aligned=True)
    lines += [""] + markdown_table(
        ["model", "batch", "dense ms", "dense CL ms", "export ms", "speedup"]
        + ["Amdahl limit", "dense rows/s", "export rows/s", "max rel. err"],
        model_rows,
        aligned=True,
    )
    return "\n".join(lines)


def add_arguments(parser) -> None:
    """The options of ``sapp bench speed``."""
    parser.add_argument("--model", choices=SPEED_MODELS, default="criteo")
    parser.add_argument("--sparsity", type=cli_types.sparsity, default=0.9)
    parser.add_argument("--block", type=cli_types.positive_int, default=10)
    parser.add_argument(
        "--batch-sizes", type=cli_types.positive_int, nargs="+", default=[1, 64, 256]
    )
    parser.add_argument(
        "--export-batch",
        type=cli_types.positive_int,
        default=64,
        help="batch size at which the export times each layer (default 64)",
    )
    parser.add_argument("--repeats", type=cli_types.positive_int, default=20)
    parser.add_argument("--threads", type=cli_types.positive_int, default=2)
    parser.add_argument(
        "--image-size",
        type=cli_types.positive_int,
        default=32,
        help="ResNet input side",
    )
    parser.add_argument("--json", action="store_true", help="print the record as JSON")


def run(args) -> int:
    """Run ``sapp bench speed``: print the decisions and timing tables (or JSON)."""
    torch.set_num_threads(args.threads)
    record, decisions, tables = speed_report(
        args.model,
        args.sparsity,
        args.block,
        args.batch_sizes,
        repeats=args.repeats,
        image_size=args.image_size,
        export_batch=args.export_batch,
    )
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(
            f"sapp bench speed: {args.model}, block {args.block}, sparsity "
            f"{args.sparsity:g}, {args.threads} threads (fp32, CPU)\n"
        )
        print(decisions, tables, sep="\n\n")
    return 0
