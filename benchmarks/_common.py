"""What every benchmark script shares: run metadata and atomic result files.

Each JSON record carries the exact command line, the machine, the package
versions and the seed (STYLE.md, "CLI and results"); results are written to a
temporary file in the same folder and renamed, so a killed run never leaves a
half-written result.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def run_metadata(packages, **extra) -> dict:
    """Command line, machine, Python and package versions, plus ``extra`` fields."""
    versions = {}
    for package in packages:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "versions": versions,
        **extra,
    }


def write_results(stem: str, payload: dict, markdown: str) -> None:
    """Write ``results/<stem>.json`` and ``results/<stem>.md`` atomically."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    for suffix, text in ((".json", json.dumps(payload, indent=2)), (".md", markdown)):
        with tempfile.NamedTemporaryFile("w", dir=RESULTS, delete=False) as tmp:
            tmp.write(text)
        os.replace(tmp.name, RESULTS / f"{stem}{suffix}")
