"""What every benchmark script shares: run metadata and atomic result files.

A thin layer over :mod:`neural.bench.results` that writes into this folder's
``results/``.
"""

from __future__ import annotations

from pathlib import Path

from neural.bench import results as _results
from neural.bench.results import run_metadata

__all__ = ["RESULTS", "run_metadata", "write_results"]

RESULTS = Path(__file__).parent / "results"


def write_results(stem: str, payload: dict, markdown: str) -> None:
    """Write ``results/<stem>.json`` and ``results/<stem>.md`` atomically."""
    _results.write_results(RESULTS, stem, payload, markdown)
