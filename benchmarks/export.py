"""``sapp bench export``: the block-sparse export against dense and torch's BSR paths.

Issue 19's bars (fp32, CPU, 2 threads, all contenders timed side by side in one
run, outputs within 1e-4 relative of dense):

* one 2048 x 2048 Linear at batch 256 (:func:`benchmarks.speed.layer_speed`):
  >= 5x over dense at 90% block sparsity for 8x8, 16x16 and 32x32 blocks, >= 8x
  at 95% with 8x8 (ideal 1/(1-s): 10x and 20x), and never slower than torch's
  fastest BSR path;
* ResNet-18 (width 64, 32 x 32 inputs) pruned 90% in 16x16 blocks, exported
  with decisions timed at batch 64: whole model >= 2x over dense at batch 64;
* the Criteo tower with its first layer pruned 90% in 10x10 blocks, decisions
  timed at batch 256: that layer exported, whole model >= 1.2x at batch 256.

Each whole-model figure stands beside Amdahl's limit (the speedup if every
pruned layer ran at its ideal) and the dense model in channels-last layout (the
export's layout; convolutional models), and every pruned layer is timed on its
own. Also measured: batch sizes 1 and 64, ResNet-18 with 8x8 blocks (no bar),
the bytes of each model in memory and on disk, and the peak resident memory of
a process that loads each model and runs one batch (a child
``python -m benchmarks.export --peak-rss ...``). The machine's load average at
the start and the end of the run is recorded: timings under load are noisy.
Writes ``export.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

import neural
from neural import cli_types
from neural.export import export_block_sparse, load_exported, save_exported
from neural.models import MLP, resnet18

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)
from .speed import block_sparse_linear, layer_speed, model_speed, pruned_layer_speeds

__all__ = ["add_arguments", "export_benchmark", "export_markdown", "run"]

LAYER_CASES = [(8, 0.9), (16, 0.9), (32, 0.9), (8, 0.95)]
LAYER_BATCHES = (1, 64, 256)
LAYER_BARS = {(8, 0.9): 5.0, (16, 0.9): 5.0, (32, 0.9): 5.0, (8, 0.95): 8.0}
MAX_RELATIVE_ERROR = 1e-4


@dataclass(frozen=True)
class _ModelCase:
    """A pruned model, the batch its export decisions are timed at, and its bar."""

    label: str
    skeleton: str
    block: int
    export_batch: int
    batches: tuple[int, ...]
    bar: float | None  # whole-model speedup at export_batch


_MODELS = {
    "criteo": _ModelCase("criteo tower", "criteo", 10, 256, (1, 64, 256), 1.2),
    "resnet": _ModelCase("resnet18 16x16", "resnet", 16, 64, (1, 64), 2.0),
    "resnet8": _ModelCase("resnet18 8x8", "resnet", 8, 64, (64,), None),
}


def _skeleton(name):
    """A fresh dense model of the case's architecture and its input factory."""
    if name == "criteo":
        return MLP([390, 400, 400, 400, 1]), lambda b: torch.randn(b, 390)
    model = resnet18(num_classes=10, small_input=True)
    return model, lambda b: torch.randn(b, 3, 32, 32)


def _pruned(case, seed):
    """The finalized model of ``case``, pruned 90% by block magnitude.

    Criteo: its first layer (390 x 400); ResNet-18: every conv of >= 100 blocks.
    """
    torch.manual_seed(seed)
    model, make_input = _skeleton(case.skeleton)
    layers = ["layers.0"] if case.skeleton == "criteo" else None
    pruner = neural.prune(
        model, "magnitude", sparsity=0.9, block=case.block, total_steps=1, layers=layers
    )
    pruner.step()
    return pruner.finalize().eval(), make_input


def _model_bytes(model):
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def _peak_rss_child(kind, path, builder, batch):
    """Peak RSS (MiB) of a fresh process that loads the model and runs one batch."""
    child = [sys.executable, "-m", __name__, "--peak-rss"]
    out = subprocess.run(
        [*child, kind, str(path), builder, str(batch)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _run_peak_rss(kind, path, builder, batch):
    """The child of :func:`_peak_rss_child`: prints its own peak RSS in MiB."""
    torch.set_num_threads(2)
    model, make_input = _skeleton(builder)
    if kind == "exported":
        model = load_exported(model, path)
    else:
        model.load_state_dict(torch.load(path, weights_only=True))
        model.eval()
    with torch.inference_mode():
        model(make_input(int(batch)))
    # VmHWM, not ru_maxrss: the latter carries the parent's peak across exec.
    with open("/proc/self/status") as status:
        peak_kib = next(
            int(line.split()[1]) for line in status if line.startswith("VmHWM")
        )
    print(peak_kib / 1024)
    return 0


def export_benchmark(*, quick=False, threads=2) -> tuple[dict, dict]:
    """Time the layer cases and the models; measure sizes and peak memory.

    Parameters
    ----------
    quick : bool, default=False
        5 timed calls per measurement instead of 30 (layers: twice that).
    threads : int, default=2
        Torch threads (the bars are set for 2; one thread is the measure that
        a loaded machine disturbs least: no thread waits for another).

    Returns
    -------
    record : dict
        Run metadata (``threads``, ``repeats``, ``load_average`` at the start and
        the end), ``layers`` (one :class:`~benchmarks.speed.LayerSpeed` row per
        case and batch), ``bars``, ``models`` (per case: its
        :class:`~benchmarks.speed.ModelSpeed` rows and the
        :class:`~benchmarks.speed.PrunedLayerSpeed` rows of its pruned layers),
        ``sizes`` and ``export_reports`` (per case, every layer's decision).
    decisions : dict of str to str
        Per model, the export report as printed (its decision table).
    """
    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    repeats = 5 if quick else 30
    layers = []
    for block, sparsity in LAYER_CASES:
        linear = block_sparse_linear(2048, 2048, block, sparsity, seed=0)
        for batch in LAYER_BATCHES:
            layers.append(
                layer_speed(linear, block, sparsity, batch, repeats=2 * repeats)
            )
    models, reports, sizes = {}, {}, {}
    for key, case in _MODELS.items():
        dense, make_input = _pruned(case, 0)
        exported, report = export_block_sparse(
            dense,
            example_inputs=make_input(case.export_batch),
            batch_size=case.export_batch,
            ragged="dense",
        )
        reports[case.label] = report
        densities = {r.name: r.density for r in report.layers if r.density < 1.0}
        rows, pruned = [], []
        for batch in case.batches:
            inputs = make_input(batch)
            layer_rows = pruned_layer_speeds(
                dense, exported, inputs, densities, repeats=repeats // 3 + 3
            )
            pruned += [r.to_dict() for r in layer_rows]
            row = model_speed(
                case.label,
                dense,
                exported,
                inputs,
                repeats=repeats // 3 + 3,
                layers=layer_rows,
            )
            rows.append(row.to_dict())
        models[key] = {"case": case.label, "rows": rows, "layers": pruned}
        if key in ("criteo", "resnet"):
            sizes[case.label] = _sizes(dense, exported, case.skeleton)
    record = {
        **run_metadata(["torch"], threads=threads, repeats=repeats),
        "load_average": {"start": load_before, "end": os.getloadavg()},
        "layers": [r.to_dict() for r in layers],
        "bars": _layer_bars(layers) + _model_bars(models, reports),
        "models": models,
        "sizes": sizes,
        "export_reports": {k: v.to_dict() for k, v in reports.items()},
    }
    return record, {k: str(v) for k, v in reports.items()}


def _sizes(dense, exported, builder) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        dense_file = Path(folder) / "dense.pt"
        torch.save(dense.state_dict(), dense_file)
        sparse_file = Path(folder) / "sparse.pt"
        save_exported(exported, sparse_file)
        return {
            "dense_bytes": _model_bytes(dense),
            "exported_bytes": _model_bytes(exported),
            "dense_file_bytes": dense_file.stat().st_size,
            "exported_file_bytes": sparse_file.stat().st_size,
            "dense_peak_rss_mib": _peak_rss_child("dense", dense_file, builder, 256),
            "exported_peak_rss_mib": _peak_rss_child(
                "exported", sparse_file, builder, 256
            ),
        }


def _layer_bars(layers) -> list[dict]:
    bars = []
    for row in layers:
        if row.batch != 256:
            continue
        need = LAYER_BARS[(row.block, row.sparsity)]
        bars.append(
            {
                "case": f"Linear 2048x2048, {row.block}x{row.block} at "
                f"{row.sparsity:.0%}, batch 256",
                "speedup": row.speedup,
                "need": need,
                "vs_torch_best": row.vs_torch_best,
                "max_relative_error": row.max_relative_error,
                "met": row.speedup >= need
                and row.vs_torch_best >= 1.0
                and row.max_relative_error <= MAX_RELATIVE_ERROR,
            }
        )
    return bars


def _model_bars(models, reports) -> list[dict]:
    bars = []
    for key, case in _MODELS.items():
        if case.bar is None:
            continue
        row = next(r for r in models[key]["rows"] if r["batch"] == case.export_batch)
        exported = reports[case.label].n_sparse > 0
        bars.append(
            {
                "case": f"{case.label}, whole model, batch {case.export_batch}",
                "speedup": row["speedup"],
                "need": case.bar,
                "amdahl_limit": row["amdahl_limit"],
                "max_relative_error": row["max_relative_error"],
                "exported_layers": reports[case.label].n_sparse,
                "met": exported
                and row["speedup"] >= case.bar
                and row["max_relative_error"] <= MAX_RELATIVE_ERROR,
            }
        )
    return bars


def _optional_x(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def export_markdown(record: dict, decisions: dict) -> str:
    """The report of :func:`export_benchmark`: tables, bars and the decisions."""
    layers = [
        [
            f"{r['block']}x{r['block']}",
            f"{r['sparsity']:.0%}",
            r["batch"],
            f"{r['dense_ms']:.3f}",
            f"{r['torch_linear_bsr_ms']:.3f}",
            f"{r['torch_mm_bsr_ms']:.3f}",
            f"{r['sapp_ms']:.3f}",
            f"{r['speedup']:.2f}x",
            f"{r['vs_torch_best']:.2f}x",
            f"{r['ideal']:.0f}x",
            f"{r['max_relative_error']:.1e}",
        ]
        for r in record["layers"]
    ]
    bars = [
        [
            b["case"],
            f"{b['speedup']:.2f}x",
            f">= {b['need']:g}x",
            _optional_x(b.get("vs_torch_best")),
            _optional_x(b.get("amdahl_limit")),
            f"{b['max_relative_error']:.1e}",
            "yes" if b["met"] else "NO",
        ]
        for b in record["bars"]
    ]
    models = [
        [
            m["model"],
            m["batch"],
            f"{m['dense_ms']:.3f}",
            "-"
            if m["dense_channels_last_ms"] is None
            else f"{m['dense_channels_last_ms']:.3f}",
            f"{m['exported_ms']:.3f}",
            f"{m['speedup']:.2f}x",
            _optional_x(m["amdahl_limit"]),
            _optional_x(m.get("speedup_vs_channels_last")),
            f"{m['dense_rows_per_s']:.0f}",
            f"{m['exported_rows_per_s']:.0f}",
            f"{m['max_relative_error']:.1e}",
        ]
        for case in record["models"].values()
        for m in case["rows"]
    ]
    sizes = [
        [
            name,
            s["dense_bytes"],
            s["exported_bytes"],
            s["dense_file_bytes"],
            s["exported_file_bytes"],
            f"{s['dense_peak_rss_mib']:.0f} MiB",
            f"{s['exported_peak_rss_mib']:.0f} MiB",
        ]
        for name, s in record["sizes"].items()
    ]
    load = record["load_average"]
    lines = [
        f"# Block-sparse export: inference speed (fp32 CPU, {record['threads']} "
        f"thread{'s' if record['threads'] > 1 else ''})",
        "",
        f"`{record['command']}` on {record['machine']}; load average (1, 5, 15 min) "
        f"{_load(load['start'])} at the start, {_load(load['end'])} at the end "
        "(other processes share the cores: timings under load are noisy).",
        "",
        "Every time is the median over 5 interleaved rounds of each round's "
        "fastest call (`neural.export.timing.interleaved_ms`).",
        "",
        "## Bars" + ("" if record["threads"] == 2 else " (set for 2 threads)"),
        "",
        *markdown_table(
            ["case", "speedup", "bar", "vs torch's best BSR", "Amdahl limit"]
            + ["max rel. error", "met"],
            bars,
        ),
        "",
        "## One 2048 x 2048 Linear layer (ms per call)",
        "",
        *markdown_table(
            ["block", "sparsity", "batch", "dense", "F.linear(x, W_bsr)"]
            + ["mm(W_bsr, x.T).T", "sapp export", "speedup vs dense"]
            + ["vs torch's best BSR", "ideal", "max rel. error"],
            layers,
        ),
        "",
        "## Whole models (ms per batch)",
        "",
        "Dense CL: the dense model with channels-last weights and input, the "
        "export's layout. Amdahl limit: the speedup if every pruned layer ran at "
        "its ideal 1/(1-s), from the per-layer dense times below.",
        "",
        *markdown_table(
            ["model", "batch", "dense", "dense CL", "exported", "speedup"]
            + ["Amdahl limit", "speedup vs dense CL", "dense rows/s"]
            + ["exported rows/s", "max rel. error"],
            models,
        ),
    ]
    for case in record["models"].values():
        lines += [
            "",
            f"## Pruned layers: {case['case']} (ms per call)",
            "",
            *markdown_table(
                ["layer", "batch", "input", "density", "dense", "block-sparse"]
                + ["speedup", "ideal"],
                [
                    [
                        r["layer"],
                        r["batch"],
                        "x".join(map(str, r["input_shape"][1:])),
                        f"{r['density']:.3f}",
                        f"{r['dense_ms']:.3f}",
                        "kept dense"
                        if r["sparse_ms"] is None
                        else f"{r['sparse_ms']:.3f}",
                        _optional_x(r["speedup"]),
                        f"{r['ideal']:.1f}x",
                    ]
                    for r in case["layers"]
                ],
            ),
        ]
    lines += [
        "",
        "## Sizes and peak memory (one batch of 256 in a fresh process)",
        "",
        *markdown_table(
            ["model", "dense bytes", "exported bytes", "dense file", "exported file"]
            + ["dense peak RSS", "exported peak RSS"],
            sizes,
        ),
    ]
    for name, text in decisions.items():
        lines += ["", f"## Per-layer export decisions: {name}", "", "```", text, "```"]
    return "\n".join(lines) + "\n"


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def add_arguments(parser) -> None:
    """The options of ``sapp bench export``."""
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--threads",
        type=cli_types.positive_int,
        default=2,
        help="torch threads (default 2, the bars' setting; other counts write "
        "export_<N>thread.{json,md})",
    )
    add_output_arguments(parser, "export.{json,md}")


def run(args) -> int:
    """Run ``sapp bench export``: write ``export.{json,md}`` and print the report."""
    record, decisions = export_benchmark(quick=args.quick, threads=args.threads)
    markdown = export_markdown(record, decisions)
    stem = "export" if args.threads == 2 else f"export_{args.threads}thread"
    paths = write_results(args.out, stem, record, markdown)
    print_record(record, markdown, paths, args.json)
    return 0


def _child(argv=None) -> int:
    """``python -m benchmarks.export --peak-rss KIND PATH MODEL BATCH``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export")
    parser.add_argument("--peak-rss", nargs=4, required=True)
    return _run_peak_rss(*parser.parse_args(argv).peak_rss)


if __name__ == "__main__":
    sys.exit(_child())
