"""``sapp bench loader``: Criteo TSV parse + cache rows/s, peak RSS, DataLoader rows/s.

Bars (the Criteo data of arXiv:2402.17902, Section 4, at scale: 33M rows):
``convert_criteo_tsv`` parses and caches >= 300k rows/s on 2 cores with a peak RSS
< 2 GB.

Method: a synthetic TSV in the exact Criteo format (``generate_criteo_tsv``, seed
0, 5% missing fields, 100 malformed lines) is written to a temporary folder. Each
conversion runs in a fresh Python subprocess, so the generator's memory does not
count; the child reports its wall time around the call and its peak RSS
(``VmHWM`` of /proc/self/status; ``ru_maxrss`` would carry the parent's RSS
across fork + exec). That peak includes the interpreter and the imports
(``neural`` pulls in torch, scipy, pyarrow), which are also reported alone. The
conversion runs ``--repeats`` times and the median is reported. Then one
shuffled epoch over the cache is read through ``DataLoader`` (batch 32768,
``collate_fn`` pass-through, no workers) in this process; the cache is in the page
cache, as it was just written. The machine may be shared: the load average at
the start is recorded.

Run: ``sapp bench loader [--rows 1000000] [--repeats 3]``. Writes
``criteo_loader.{json,md}`` (``criteo_loader_<rows>.*`` for another row count).
Each conversion is a child ``python -m benchmarks.criteo_loader --convert TSV
CACHE``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neural.cli_types import positive_int

from .results import (
    add_output_arguments,
    markdown_table,
    print_record,
    run_metadata,
    write_results,
)

__all__ = ["add_arguments", "loader_benchmark", "loader_markdown", "run"]

BAR_ROWS_PER_SECOND = 300_000
BAR_RSS_MB = 2048
BATCH = 32768


def _status_kb(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def _reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def convert_child(source, target):
    """Child process: convert, print a JSON line with time and memory.

    Memory is read from /proc/self/status: ``VmHWM`` is the peak RSS of this
    process's own address space. (``ru_maxrss`` is not used: across fork + exec
    it inherits the parent's RSS, here the generator's.) ``import_peak_rss_mb``
    is the peak up to the end of the imports; ``VmHWM`` is then reset, so
    ``conversion_peak_rss_mb`` is the peak while converting, which includes the
    imported modules' resident memory; ``peak_rss_mb`` is the larger of the two.
    """
    from neural.data.criteo import convert_criteo_tsv

    import_rss = _status_kb("VmRSS")
    import_peak = _status_kb("VmHWM")
    reset = _reset_peak_rss()
    start = time.perf_counter()
    info = convert_criteo_tsv(source, target, progress=False)
    wall = time.perf_counter() - start
    window_peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "info": info.to_dict(),
                "wall_s": wall,
                "peak_rss_mb": max(import_peak, window_peak) / 1024,
                "conversion_peak_rss_mb": window_peak / 1024 if reset else None,
                "import_rss_mb": import_rss / 1024,
                "import_peak_rss_mb": import_peak / 1024,
            }
        )
    )


def run_conversion(source, target):
    completed = subprocess.run(
        [sys.executable, "-m", __name__, "--convert", str(source), str(target)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def read_epoch(cache):
    import torch
    from torch.utils.data import DataLoader

    from neural.data.criteo import CriteoDataset

    data = CriteoDataset(cache)
    loader = DataLoader(
        data,
        batch_size=BATCH,
        shuffle=True,
        collate_fn=data.collate_fn,
        generator=torch.Generator().manual_seed(0),
    )
    start = time.perf_counter()
    rows = 0
    for (dense, categorical), label in loader:
        rows += len(label)
        assert dense.shape[1] == 13 and categorical.shape[1] == 26
    seconds = time.perf_counter() - start
    assert rows == len(data)
    return seconds, rows


def benchmark(n_rows, repeats, folder):
    from neural.data.criteo_synthetic import generate_criteo_tsv

    source = folder / "train.tsv"
    start = time.perf_counter()
    teacher = generate_criteo_tsv(source, n_rows, seed=0, malformed_rows=100)
    generate_s = time.perf_counter() - start
    runs = []
    for k in range(repeats):
        target = folder / f"cache{k}"
        runs.append(run_conversion(source, target))
        if k < repeats - 1:
            shutil.rmtree(target)
    epoch_s, epoch_rows = read_epoch(folder / f"cache{repeats - 1}")
    times = [r["wall_s"] for r in runs]
    median = statistics.median(times)
    peak = max(r["peak_rss_mb"] for r in runs)
    info = runs[-1]["info"]
    lines = info["rows"] + info["malformed"]
    source_mb = source.stat().st_size / 2**20
    dataset = f"synthetic Criteo TSV, {lines:,} lines ({source_mb:.0f} MiB)"
    convert_rate = lines / median
    return [
        {
            "dataset_name": dataset,
            "solver_name": "convert_criteo_tsv (parse + cache)",
            "time_s": median,
            "rows_per_second": convert_rate,
            "peak_rss_mb": peak,
            "conversion_peak_rss_mb": max(
                r["conversion_peak_rss_mb"] or 0.0 for r in runs
            ),
            "import_rss_mb": max(r["import_rss_mb"] for r in runs),
            "import_peak_rss_mb": max(r["import_peak_rss_mb"] for r in runs),
            "runs_s": times,
            "rows": info["rows"],
            "malformed": info["malformed"],
            "cache_bytes": info["bytes"],
            "bar": f">= {BAR_ROWS_PER_SECOND:,} rows/s, peak RSS < {BAR_RSS_MB} MB",
            "passed": convert_rate >= BAR_ROWS_PER_SECOND and peak < BAR_RSS_MB,
        },
        {
            "dataset_name": dataset,
            "solver_name": f"DataLoader epoch (batch {BATCH}, shuffled)",
            "time_s": epoch_s,
            "rows_per_second": epoch_rows / epoch_s,
        },
        {
            "dataset_name": dataset,
            "solver_name": "generate_criteo_tsv",
            "time_s": generate_s,
            "rows_per_second": lines / generate_s,
            "teacher": {k: v for k, v in teacher.to_dict().items() if k != "support"},
        },
    ]


def loader_markdown(rows, meta) -> str:
    """The report of :func:`loader_benchmark`: one table and the conversion runs."""
    table = [
        [
            r["dataset_name"],
            r["solver_name"],
            f"{r['time_s']:.2f}",
            f"{r['rows_per_second']:,.0f}",
            f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-",
        ]
        for r in rows
    ]
    first = rows[0]
    lines = [
        "# Criteo loader throughput (CPU)",
        "",
        f"Command: `{meta['command']}`; machine: {meta['machine']}; load average "
        f"at start {meta['load_average'][0]:.2f}; pyarrow "
        f"{meta['versions']['pyarrow']}, numpy {meta['versions']['numpy']}. Bar: "
        f"{rows[0]['bar']}; passed: {rows[0]['passed']}.",
        "",
        *markdown_table(
            ["dataset", "step", "time (s)", "rows/s", "peak RSS (MB)"], table
        ),
        "",
        f"Conversion runs (s): {', '.join(f'{t:.2f}' for t in first['runs_s'])}; "
        f"RSS after the imports (neural pulls in torch, scipy...): "
        f"{first['import_rss_mb']:.0f} MB; peak RSS while converting: "
        f"{first['conversion_peak_rss_mb'] or float('nan'):.0f} MB (the table's "
        "peak is the child's whole life, imports included); "
        f"{first['malformed']} malformed lines skipped.",
    ]
    return "\n".join(lines) + "\n"


def loader_benchmark(*, rows=1_000_000, repeats=3) -> dict:
    """Generate a TSV of ``rows`` lines, convert it ``repeats`` times, read an epoch.

    Returns
    -------
    dict
        ``meta`` (run metadata with the seed, ``rows``, ``repeats`` and the load
        average at the start) and ``rows``: conversion, DataLoader epoch and
        generation, each with ``time_s`` and ``rows_per_second``.
    """
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="criteo-bench-") as folder:
        found = benchmark(rows, repeats, Path(folder))
    meta = run_metadata(
        ["sapp", "numpy", "pyarrow", "torch"],
        seed=0,
        rows=rows,
        repeats=repeats,
        load_average=load,
    )
    return {"meta": meta, "rows": found}


def add_arguments(parser) -> None:
    """The options of ``sapp bench loader``."""
    parser.add_argument(
        "--rows", type=positive_int, default=1_000_000, help="TSV lines"
    )
    parser.add_argument("--repeats", type=positive_int, default=3, help="conversions")
    add_output_arguments(parser, "criteo_loader.{json,md}")


def run(args) -> int:
    """Run ``sapp bench loader``: write ``criteo_loader.{json,md}``, print them."""
    record = loader_benchmark(rows=args.rows, repeats=args.repeats)
    text = loader_markdown(record["rows"], record["meta"])
    stem = "criteo_loader" if args.rows == 1_000_000 else f"criteo_loader_{args.rows}"
    paths = write_results(args.out, stem, record, text)
    print_record(record, text, paths, args.json)
    return 0


def _child(argv=None) -> None:
    """``python -m benchmarks.criteo_loader --convert TSV CACHE``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.criteo_loader")
    parser.add_argument("--convert", nargs=2, metavar=("TSV", "CACHE"), required=True)
    convert_child(*parser.parse_args(argv).convert)


if __name__ == "__main__":
    _child()
