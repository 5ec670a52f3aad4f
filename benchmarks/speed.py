"""``sapp bench speed``: dense vs block-sparse inference speed, side by side in one run.

Used by ``sapp bench speed``, ``sapp bench export`` (:mod:`benchmarks.export`)
and ``sapp bench overhead``. For a layer the
contenders are the dense product, torch's two BSR paths (``F.linear(x, W_bsr)``
and ``torch.mm(W_bsr, x^T)^T``) and the exported :class:`BlockSparseLinear`; for
a whole model, the dense finalized model against its export. The ideal speedup at
block sparsity ``s`` is ``1 / (1 - s)``.
"""

from __future__ import annotations

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
from neural.export.timing import median_latency_ms

__all__ = [
    "SPEED_MODELS",
    "ExportedLayerSpeed",
    "LayerSpeed",
    "ModelSpeed",
    "add_arguments",
    "block_sparse_linear",
    "exported_layer_speeds",
    "layer_speed",
    "model_speed",
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
    """Whole-model latency (ms per batch) and throughput (rows per second)."""

    model: str
    batch: int
    dense_ms: float
    exported_ms: float
    max_relative_error: float

    @property
    def speedup(self) -> float:
        """Dense time over the exported model's time."""
        return self.dense_ms / self.exported_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary with throughputs."""
        return {
            **asdict(self),
            "speedup": self.speedup,
            "dense_rows_per_s": 1e3 * self.batch / self.dense_ms,
            "exported_rows_per_s": 1e3 * self.batch / self.exported_ms,
        }


@dataclass(frozen=True)
class ExportedLayerSpeed:
    """One exported layer of a model, timed dense and block-sparse on its input."""

    layer: str
    batch: int
    input_shape: tuple[int, ...]
    dense_ms: float
    sparse_ms: float

    @property
    def speedup(self) -> float:
        """Dense time over the block-sparse time."""
        return self.dense_ms / self.sparse_ms

    def to_dict(self) -> dict:
        """JSON-ready dictionary with the speedup."""
        return {**asdict(self), "speedup": self.speedup}


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

    The four contenders run interleaved in ``rounds`` rounds of
    ``repeats // rounds`` calls each; each one's time is the median of its round
    medians, so a burst of background load hits all of them alike.
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
    per_round = max(1, repeats // rounds)
    times = [[] for _ in contenders]
    for _ in range(rounds):
        for record, function in zip(times, contenders, strict=True):
            record.append(median_latency_ms(function, repeats=per_round))
    return LayerSpeed(
        tuple(weight.shape),
        block,
        sparsity,
        batch,
        *(statistics.median(record) for record in times),
    )


def model_speed(name, dense, exported, inputs, *, repeats=10) -> ModelSpeed:
    """Time ``dense`` and ``exported`` on ``inputs`` (tensor or tuple), eval mode."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    dense.eval()
    exported.eval()
    with torch.inference_mode():
        reference = dense(*inputs)
        error = (exported(*inputs) - reference).abs().max() / reference.abs().max()
    return ModelSpeed(
        name,
        inputs[0].shape[0],
        median_latency_ms(lambda: dense(*inputs), repeats=repeats),
        median_latency_ms(lambda: exported(*inputs), repeats=repeats),
        float(error),
    )


def exported_layer_speeds(dense, exported, inputs, *, repeats=10):
    """Time every block-sparse layer of ``exported`` against its dense original.

    Each layer runs on the input it receives when ``dense`` processes ``inputs``
    (captured with forward hooks).
    """
    sparse_layers = {
        name: module
        for name, module in exported.named_modules()
        if isinstance(module, BlockSparseLinear | BlockSparseConv2d)
    }
    captured = capture_inputs(dense, sparse_layers, inputs)
    batch = (inputs if isinstance(inputs, torch.Tensor) else inputs[0]).shape[0]
    rows = []
    for name, sparse in sparse_layers.items():
        x = captured[name].clone()
        original = dense.get_submodule(name)
        rows.append(
            ExportedLayerSpeed(
                name,
                batch,
                tuple(x.shape),
                median_latency_ms(lambda o=original, x=x: o(x), repeats=repeats),
                median_latency_ms(lambda m=sparse, x=x: m(x), repeats=repeats),
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


def speed_report(name, sparsity, block, batch_sizes, *, repeats=10, image_size=32):
    """Export a pruned ``name`` model; time it dense vs exported, per layer and whole.

    The export keeps a layer block-sparse where it is faster at batch 64 (its
    decision table is part of the result); every batch size in ``batch_sizes`` is
    then timed for each exported layer and for the whole model.
    """
    dense, make_input = pruned_model(name, sparsity, block, image_size=image_size)
    exported, decisions = export_block_sparse(
        dense, example_inputs=make_input(64), repeats=repeats, ragged="dense"
    )
    layers, models = [], []
    for batch in batch_sizes:
        inputs = make_input(batch)
        layers += exported_layer_speeds(dense, exported, inputs, repeats=repeats)
        models.append(model_speed(name, dense, exported, inputs, repeats=repeats))
    return (
        {
            "model": name,
            "sparsity": sparsity,
            "block": block,
            "threads": torch.get_num_threads(),
            "export": decisions.to_dict(),
            "layers": [row.to_dict() for row in layers],
            "models": [row.to_dict() for row in models],
        },
        str(decisions),
        _speed_tables(layers, models),
    )


def _speed_tables(layers, models) -> str:
    lines = [
        f"{'layer':<24} {'batch':>6} {'dense ms':>10} {'sparse ms':>10} {'speedup':>8}"
    ]
    for r in layers:
        lines.append(
            f"{r.layer:<24} {r.batch:>6} {r.dense_ms:>10.3f} {r.sparse_ms:>10.3f} "
            f"{r.speedup:>7.2f}x"
        )
    lines += [
        "",
        f"{'model':<24} {'batch':>6} {'dense ms':>10} {'export ms':>10} {'speedup':>8} "
        f"{'dense rows/s':>13} {'export rows/s':>14}",
    ]
    for m in models:
        d = m.to_dict()
        lines.append(
            f"{m.model:<24} {m.batch:>6} {m.dense_ms:>10.3f} {m.exported_ms:>10.3f} "
            f"{m.speedup:>7.2f}x {d['dense_rows_per_s']:>13.0f} "
            f"{d['exported_rows_per_s']:>14.0f}"
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
