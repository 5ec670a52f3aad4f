"""No package imports another package's private module or private name (issue 16).

Shared helpers are public modules with docstrings; a package may use its own
``_private`` modules, and tests may import the private modules they test, but
``nonconvex_reg``, ``omp``, ``neural``, ``benchmarks`` and the notebooks never
reach into another project package's ``_x`` module or ``_x`` name. The scan reads
the import statements with :mod:`ast`, so an import inside a function counts too.
"""

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nonconvex_reg", "omp", "neural", "benchmarks")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def cross_package_private_imports(source: str, package: str | None) -> list[str]:
    """``module[:name]`` of each import of another package's private module or name.

    ``package`` is the top-level package of the importing code (``None`` for a
    notebook, which owns no package).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module, name in targets:
            top, *inner = module.split(".")
            if top not in PACKAGES or top == package:
                continue
            if any(map(_private, inner)) or (name is not None and _private(name)):
                found.append(module if name is None else f"{module}:{name}")
    return found


def _python_sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, package


def _notebook_source(path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))  # IPython magics
    ]
    return "\n".join(lines)


def test_the_scan_finds_each_kind_of_private_import():
    source = "\n".join(
        [
            "from omp._refit import make_refit",
            "from nonconvex_reg.solvers.result import _StatusResult",
            "import neural._atomic",
            "from omp.refit import make_refit",  # public: allowed
            "from nonconvex_reg.solvers import __version__",  # dunder: allowed
            "from ._own import helper",  # relative: the package's own
            "from sklearn.utils._param_validation import Interval",  # not ours
        ]
    )
    assert cross_package_private_imports(source, "benchmarks") == [
        "omp._refit:make_refit",
        "nonconvex_reg.solvers.result:_StatusResult",
        "neural._atomic",
    ]
    # A package's own private modules are its business.
    assert cross_package_private_imports("from omp._refit import x", "omp") == []
    assert cross_package_private_imports("import omp._refit", None) == ["omp._refit"]


def test_packages_import_no_other_package_private_module():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path, package in _python_sources()
        if (found := cross_package_private_imports(path.read_text(), package))
    }
    assert offenders == {}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_import_no_private_module(path):
    assert cross_package_private_imports(_notebook_source(path), None) == []
