"""Block-sparse export: inference speed against dense and torch's BSR paths (issue 7).

Bars (fp32, CPU, 2 threads, batch 256, one 2048 x 2048 Linear, all contenders
timed side by side in one run):

* speedup over dense >= 3x at 90% block sparsity for 8x8, 16x16 and 32x32 blocks,
  and >= 5x at 95% for 8x8 (ideal 1/(1-s): 10x and 20x);
* never slower than torch's fastest BSR path on the same layer.

Also measured: batch sizes 1 and 64, the whole finalized Criteo tower and a
small ResNet-18 (dense vs exported, batches 1, 64, 256), the bytes of each model
in memory and on disk, and the peak resident memory of a process that loads each
model and runs one batch.

Usage: python benchmarks/bench_export.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from _common import run_metadata, write_results

import neural
from neural.export import export_block_sparse, load_exported, save_exported
from neural.export.speed import block_sparse_linear, layer_speed, model_speed
from neural.models import MLP, resnet18

LAYER_CASES = [(8, 0.9), (16, 0.9), (32, 0.9), (8, 0.95)]
BATCHES = (1, 64, 256)
BARS = {(8, 0.9): 3.0, (16, 0.9): 3.0, (32, 0.9): 3.0, (8, 0.95): 5.0}


def criteo_models(seed):
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


def resnet_models(seed):
    """ResNet-18 (width 64, 32 x 32 inputs) with every conv of >= 100 blocks pruned
    90% in 8x8 blocks; each layer exported only where measured faster."""
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


def model_bytes(model):
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def peak_rss_child(kind, path, builder, batch):
    """Peak RSS (MiB) of a fresh process that loads the model and runs one batch."""
    out = subprocess.run(
        [sys.executable, __file__, "--peak-rss", kind, str(path), builder, str(batch)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def skeleton(builder):
    if builder == "criteo_models":
        return MLP([390, 400, 400, 400, 1]), lambda b: torch.randn(b, 390)
    model = resnet18(num_classes=10, small_input=True)
    return model, lambda b: torch.randn(b, 3, 32, 32)


def run_peak_rss(kind, path, builder, batch):
    """The child of :func:`peak_rss_child`: prints its own peak RSS in MiB."""
    torch.set_num_threads(2)
    model, make_input = skeleton(builder)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--peak-rss", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_rss:
        return run_peak_rss(*args.peak_rss)
    torch.set_num_threads(2)
    repeats = 5 if args.quick else 30

    layers = []
    for block, sparsity in LAYER_CASES:
        linear = block_sparse_linear(2048, 2048, block, sparsity, seed=0)
        for batch in BATCHES:
            layers.append(
                layer_speed(linear, block, sparsity, batch, repeats=2 * repeats)
            )

    models, reports, sizes = [], {}, {}
    for name, builder in (
        ("criteo tower", "criteo_models"),
        ("resnet18", "resnet_models"),
    ):
        dense, exported, report, make_input = globals()[builder](0)
        reports[name] = report
        for batch in BATCHES:
            models.append(
                model_speed(
                    name, dense, exported, make_input(batch), repeats=repeats // 3 + 3
                )
            )
        with tempfile.TemporaryDirectory() as folder:
            dense_file = Path(folder) / "dense.pt"
            torch.save(dense.state_dict(), dense_file)
            sparse_file = Path(folder) / "sparse.pt"
            save_exported(exported, sparse_file)
            sizes[name] = {
                "dense_bytes": model_bytes(dense),
                "exported_bytes": model_bytes(exported),
                "dense_file_bytes": dense_file.stat().st_size,
                "exported_file_bytes": sparse_file.stat().st_size,
                "dense_peak_rss_mib": peak_rss_child("dense", dense_file, builder, 256),
                "exported_peak_rss_mib": peak_rss_child(
                    "exported", sparse_file, builder, 256
                ),
            }

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

    lines = [
        "# Block-sparse export: inference speed (fp32 CPU, 2 threads)",
        "",
        f"`{run_metadata(['torch', 'numba'])['command']}`",
        "",
        "## One 2048 x 2048 Linear layer (ms per call, median)",
        "",
        "| block | sparsity | batch | dense | F.linear(x, W_bsr) | mm(W_bsr, x.T).T "
        "| sapp export | speedup vs dense | vs torch's best BSR | ideal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in layers:
        d = r.to_dict()
        lines.append(
            f"| {r.block}x{r.block} | {r.sparsity:.0%} | {r.batch} "
            f"| {r.dense_ms:.3f} | {r.torch_linear_bsr_ms:.3f} "
            f"| {r.torch_mm_bsr_ms:.3f} | {r.sapp_ms:.3f} "
            f"| {r.speedup:.2f}x | {r.vs_torch_best:.2f}x | {d['ideal']:.0f}x |"
        )
    lines += [
        "",
        "## Bars (batch 256)",
        "",
        "| case | speedup | bar | vs torch's best | met |",
        "|---|---|---|---|---|",
    ]
    for b in bars:
        lines.append(
            f"| {b['case']} | {b['speedup']:.2f}x | >= {b['need']:.0f}x "
            f"| {b['vs_torch_best']:.2f}x | {'yes' if b['met'] else 'NO'} |"
        )
    lines += [
        "",
        "## Whole models (ms per batch, median)",
        "",
        "| model | batch | dense | exported | speedup | dense rows/s "
        "| exported rows/s | max rel. error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in models:
        d = m.to_dict()
        lines.append(
            f"| {m.model} | {m.batch} | {m.dense_ms:.3f} | {m.exported_ms:.3f} "
            f"| {m.speedup:.2f}x | {d['dense_rows_per_s']:.0f} "
            f"| {d['exported_rows_per_s']:.0f} | {m.max_relative_error:.1e} |"
        )
    lines += [
        "",
        "## Sizes and peak memory (one batch of 256 in a fresh process)",
        "",
        "| model | dense bytes | exported bytes | dense file | exported file "
        "| dense peak RSS | exported peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in sizes.items():
        lines.append(
            f"| {name} | {s['dense_bytes']} | {s['exported_bytes']} "
            f"| {s['dense_file_bytes']} | {s['exported_file_bytes']} "
            f"| {s['dense_peak_rss_mib']:.0f} MiB "
            f"| {s['exported_peak_rss_mib']:.0f} MiB |"
        )
    for name, report in reports.items():
        lines += [
            "",
            f"## Per-layer export decisions: {name}",
            "",
            "```",
            str(report),
            "```",
        ]
    markdown = "\n".join(lines) + "\n"
    payload = {
        **run_metadata(["torch", "numba"], threads=2, repeats=repeats),
        "layers": [r.to_dict() for r in layers],
        "bars": bars,
        "models": [m.to_dict() for m in models],
        "sizes": sizes,
        "export_reports": {k: v.to_dict() for k, v in reports.items()},
    }
    write_results("export", payload, markdown)
    print(markdown)
    print(json.dumps({"bars_met": all(b["met"] for b in bars)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
