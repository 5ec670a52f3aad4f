"""``sapp bench export``: the block-sparse export against dense and torch's BSR paths.

Issue 7's bars (fp32, CPU, 2 threads, batch 256, one 2048 x 2048 Linear, all
contenders timed side by side in one run, :func:`benchmarks.speed.layer_speed`):

* speedup over dense >= 3x at 90% block sparsity for 8x8, 16x16 and 32x32 blocks,
  and >= 5x at 95% for 8x8 (ideal 1/(1-s): 10x and 20x);
* never slower than torch's fastest BSR path on the same layer.

Also measured: batch sizes 1 and 64, the whole finalized Criteo tower and a
small ResNet-18 (dense vs exported, batches 1, 64, 256), the bytes of each model
in memory and on disk, and the peak resident memory of a process that loads each
model and runs one batch (a child ``python -m benchmarks.export --peak-rss ...``).
Writes ``export.{json,md}``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import neural
from neural.export import export_block_sparse, load_exported, save_exported
from neural.models import MLP, resnet18

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)
from .speed import block_sparse_linear, layer_speed, model_speed

__all__ = ["add_arguments", "export_benchmark", "export_markdown", "run"]

LAYER_CASES = [(8, 0.9), (16, 0.9), (32, 0.9), (8, 0.95)]
BATCHES = (1, 64, 256)
BARS = {(8, 0.9): 3.0, (16, 0.9): 3.0, (32, 0.9): 3.0, (8, 0.95): 5.0}


def _criteo_models(seed):
    """The Criteo tower with its first layer (390 x 400) pruned 90% in 10x10 blocks."""
    torch.manual_seed(seed)
    tower = MLP([390, 400, 400, 400, 1])
    pruner = neural.prune(
        tower,
        "magnitude",
        sparsity=0.9,
        block=10,
        total_steps=1,
        layers=["layers.0"],
    )
    pruner.step()
    tower = pruner.finalize().eval()
    exported, report = export_block_sparse(tower, batch_size=256)
    return tower, exported, report, lambda batch: torch.randn(batch, 390)


def _resnet_models(seed):
    """ResNet-18 (width 64, 32 x 32 inputs) with its large convs pruned in 8x8 blocks.

    Every conv of >= 100 blocks is pruned 90%; each layer is exported only where
    measured faster.
    """
    torch.manual_seed(seed)
    model = resnet18(num_classes=10, small_input=True)
    pruner = neural.prune(model, "magnitude", sparsity=0.9, block=8, total_steps=1)
    pruner.step()
    model = pruner.finalize().eval()
    example = torch.randn(64, 3, 32, 32)
    exported, report = export_block_sparse(
        model, example_inputs=example, ragged="dense"
    )
    return model, exported, report, lambda batch: torch.randn(batch, 3, 32, 32)


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


def _skeleton(builder):
    if builder == "criteo":
        return MLP([390, 400, 400, 400, 1]), lambda b: torch.randn(b, 390)
    model = resnet18(num_classes=10, small_input=True)
    return model, lambda b: torch.randn(b, 3, 32, 32)


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


_BUILDERS = {
    "criteo": ("criteo tower", _criteo_models),
    "resnet": ("resnet18", _resnet_models),
}


def export_benchmark(*, quick=False) -> tuple[dict, dict]:
    """Time the layer cases and both models; measure sizes and peak memory.

    Parameters
    ----------
    quick : bool, default=False
        5 timed calls per measurement instead of 30 (layers: twice that).

    Returns
    -------
    record : dict
        Run metadata (threads 2, ``repeats``), ``layers`` (one
        :class:`~benchmarks.speed.LayerSpeed` row per case and batch), ``bars``,
        ``models`` (:class:`~benchmarks.speed.ModelSpeed` rows), ``sizes`` and
        ``export_reports`` (per model, every layer's export decision).
    decisions : dict of str to str
        Per model, the export report as printed (its decision table).
    """
    torch.set_num_threads(2)
    repeats = 5 if quick else 30
    layers = []
    for block, sparsity in LAYER_CASES:
        linear = block_sparse_linear(2048, 2048, block, sparsity, seed=0)
        for batch in BATCHES:
            layers.append(
                layer_speed(linear, block, sparsity, batch, repeats=2 * repeats)
            )
    models, reports, sizes = [], {}, {}
    for builder, (name, build) in _BUILDERS.items():
        dense, exported, report, make_input = build(0)
        reports[name] = report
        for batch in BATCHES:
            models.append(
                model_speed(
                    name, dense, exported, make_input(batch), repeats=repeats // 3 + 3
                )
            )
        sizes[name] = _sizes(dense, exported, builder)
    record = {
        **run_metadata(["torch", "numba"], threads=2, repeats=repeats),
        "layers": [r.to_dict() for r in layers],
        "bars": _bars(layers),
        "models": [m.to_dict() for m in models],
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


def _bars(layers) -> list[dict]:
    bars = []
    for row in layers:
        if row.batch != 256:
            continue
        need = BARS[(row.block, row.sparsity)]
        bars.append(
            {
                "case": f"{row.block}x{row.block} at {row.sparsity:.0%}",
                "speedup": row.speedup,
                "need": need,
                "vs_torch_best": row.vs_torch_best,
                "met": row.speedup >= need and row.vs_torch_best >= 1.0,
            }
        )
    return bars


def export_markdown(record: dict, decisions: dict) -> str:
    """The report of :func:`export_benchmark`: four tables and the decisions."""
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
        ]
        for r in record["layers"]
    ]
    bars = [
        [
            b["case"],
            f"{b['speedup']:.2f}x",
            f">= {b['need']:.0f}x",
            f"{b['vs_torch_best']:.2f}x",
            "yes" if b["met"] else "NO",
        ]
        for b in record["bars"]
    ]
    models = [
        [
            m["model"],
            m["batch"],
            f"{m['dense_ms']:.3f}",
            f"{m['exported_ms']:.3f}",
            f"{m['speedup']:.2f}x",
            f"{m['dense_rows_per_s']:.0f}",
            f"{m['exported_rows_per_s']:.0f}",
            f"{m['max_relative_error']:.1e}",
        ]
        for m in record["models"]
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
    lines = [
        "# Block-sparse export: inference speed (fp32 CPU, 2 threads)",
        "",
        f"`{record['command']}`",
        "",
        "## One 2048 x 2048 Linear layer (ms per call, median)",
        "",
        *markdown_table(
            ["block", "sparsity", "batch", "dense", "F.linear(x, W_bsr)"]
            + ["mm(W_bsr, x.T).T", "sapp export", "speedup vs dense"]
            + ["vs torch's best BSR", "ideal"],
            layers,
        ),
        "",
        "## Bars (batch 256)",
        "",
        *markdown_table(["case", "speedup", "bar", "vs torch's best", "met"], bars),
        "",
        "## Whole models (ms per batch, median)",
        "",
        *markdown_table(
            ["model", "batch", "dense", "exported", "speedup", "dense rows/s"]
            + ["exported rows/s", "max rel. error"],
            models,
        ),
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


def add_arguments(parser) -> None:
    """The options of ``sapp bench export``."""
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    add_output_arguments(parser, "export.{json,md}")


def run(args) -> int:
    """Run ``sapp bench export``: write ``export.{json,md}`` and print the report."""
    record, decisions = export_benchmark(quick=args.quick)
    markdown = export_markdown(record, decisions)
    paths = write_results(args.out, "export", record, markdown)
    print_record(record, markdown, paths, args.json)
    return 0


def _child(argv=None) -> int:
    """``python -m benchmarks.export --peak-rss KIND PATH MODEL BATCH``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export")
    parser.add_argument("--peak-rss", nargs=4, required=True)
    return _run_peak_rss(*parser.parse_args(argv).peak_rss)


if __name__ == "__main__":
    sys.exit(_child())
