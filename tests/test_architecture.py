"""The shape of the code base: no import cycle, one-way data flow, lazy heavy imports.

The module graph is read with ``ast`` from the four installed packages: every
``import`` and ``from ... import`` statement counts, at module level or inside a
function (a function-level cycle still breaks when both functions run). Issue 16.
"""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nonconvex_reg", "omp", "neural", "benchmarks")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _extensions() -> list[str]:
    """The compiled modules that setup.py declares (``Extension("a.b", ...)``).

    They are leaves of the graph: C code imports no module of the packages.
    """
    tree = ast.parse((ROOT / "setup.py").read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Extension"
    ]


def _imports(name: str, path: Path, modules) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import in ``path``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from a import b` imports a.b when b is a module, else a.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name
                target = target.rpartition(".")[0]
            if target and target != name:
                found.append((target, id(node) in top_level))
    return found


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    extensions = dict.fromkeys(_extensions(), [])
    graph = {
        name: _imports(name, path, modules | extensions)
        for name, path in modules.items()
    }
    return graph | extensions


def _cycle(edges) -> list[str] | None:
    """One cycle of the directed graph ``edges`` (name -> names), or None."""
    state = dict.fromkeys(edges, 0)  # 0 new, 1 on the stack, 2 done
    stack = []

    def visit(node):
        state[node], _ = 1, stack.append(node)
        for nxt in edges[node]:
            if state[nxt] == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state[nxt] == 0 and (found := visit(nxt)):
                return found
        state[node], _ = 2, stack.pop()
        return None

    for node in edges:
        if state[node] == 0 and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}) == ["a", "b", "c", "a"]
    assert _cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None


def test_the_graph_resolves_relative_and_absolute_imports(graph):
    targets = {target for target, _ in graph["benchmarks.pruning.cli"]}
    assert {"benchmarks.pruning.runs", "benchmarks.results", "neural.cli_types"} <= (
        targets
    )


def test_compiled_modules_are_nodes_of_the_graph(graph):
    assert graph["neural.export._bsr"] == []
    targets = {target for target, _ in graph["neural.export._kernels"]}
    assert "neural.export._bsr" in targets


def test_no_import_cycle_in_the_packages(graph):
    edges = {name: sorted({t for t, _ in targets}) for name, targets in graph.items()}
    assert _cycle(edges) is None


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("nonconvex_reg", ("omp", "neural", "benchmarks")),
        ("omp", ("neural", "benchmarks")),
        ("neural", ("benchmarks",)),
    ],
)
def test_data_flows_one_way(graph, package, forbidden):
    """nonconvex_reg <- omp <- neural <- benchmarks; the CLI imports lazily."""
    for name, targets in graph.items():
        if name.split(".")[0] != package:
            continue
        for target, top_level in targets:
            if target.split(".")[0] not in forbidden:
                continue
            # The one exception: the sapp command loads a bench verb when it runs.
            assert name == "neural.cli" and target.startswith("benchmarks"), (
                f"{name} imports {target}"
            )
            assert not top_level, f"{name} imports {target} at module level"


def test_no_benchmark_code_under_neural():
    assert not list((ROOT / "neural" / "bench").rglob("*.py"))
    names = [p.name for p in (ROOT / "neural").rglob("*.py")]
    assert not [n for n in names if "bench" in n or n == "speed.py"]


def _loaded_after(code: str) -> set[str]:
    """Top-level names of the modules loaded by running ``code`` in a fresh Python."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(out.split())


def test_import_nonconvex_reg_leaves_cvxpy_for_the_oracle():
    assert "cvxpy" not in _loaded_after("import nonconvex_reg")
    solve = (
        "import numpy as np\n"
        "from nonconvex_reg import Groups, LeastSquares, cvxpy_group_lasso\n"
        "datafit = LeastSquares(np.eye(4), np.ones(4))\n"
        "cvxpy_group_lasso(datafit, Groups.equal(4, 2), 0.1)"
    )
    assert "cvxpy" in _loaded_after(solve)


def test_import_omp_leaves_sklearn_for_the_estimators():
    # The neural pruners import omp (omp.select); the estimators load on first use.
    assert "sklearn" not in _loaded_after("import omp")
    import omp
    from omp.estimators import GroupOMPRRegressor

    for name in omp.__all__:
        assert getattr(omp, name) is not None, name
    assert set(omp.__all__) <= set(dir(omp))
    assert omp.GroupOMPRRegressor is GroupOMPRRegressor
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        omp.nope  # noqa: B018


#: Loaded by the solvers and masks of nonconvex_reg (numba, scipy.optimize), the
#: estimators of omp (sklearn), the oracle (cvxpy) or the pruners (torch).
_HEAVY = {"numba", "scipy.optimize", "sklearn", "cvxpy", "torch"}


@pytest.mark.parametrize(
    "code",
    [
        "import nonconvex_reg",
        "import nonconvex_reg.validation",
        "from nonconvex_reg.validation import check_int",
        "import omp",
        "import omp.select",
        "from omp.select import top_k_groups",
    ],
)
def test_the_shared_helpers_import_no_heavy_library(code):
    # Every neural module imports nonconvex_reg.validation, the pruners omp.select.
    assert not _HEAVY & _loaded_after(code)


def test_the_pruners_import_no_solver_of_nonconvex_reg_or_omp():
    # neural.blocks compiles its own tile kernels with numba (neural._tile_scale).
    loaded = _loaded_after("import neural.pruning")
    assert not {"scipy.optimize", "sklearn", "cvxpy"} & loaded
    assert not {"nonconvex_reg.solvers", "nonconvex_reg.masks", "omp.greedy"} & loaded


_LAZY_PACKAGES = ("nonconvex_reg", "omp", "neural")


def _type_checking_imports(package: str) -> dict[str, str | None]:
    """Name -> module of the ``if TYPE_CHECKING:`` imports of ``package``."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    ]
    found = {}
    for node in block.body:
        module = ".".join(filter(None, [package, node.module]))
        for alias in node.names:
            found[alias.name] = None if node.module is None else module
    return found


@pytest.mark.parametrize("package", _LAZY_PACKAGES)
def test_the_lazy_table_all_and_the_type_checking_imports_agree(package):
    module = importlib.import_module(package)
    assert sorted(module._EXPORTS) == sorted(module.__all__)
    assert _type_checking_imports(package) == module._EXPORTS


@pytest.mark.parametrize("package", _LAZY_PACKAGES)
def test_every_public_name_is_the_object_of_its_defining_module(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        source = module._EXPORTS[name]
        if source is None:
            assert value is importlib.import_module(f"{package}.{name}"), name
            continue
        assert value is getattr(importlib.import_module(source), name), name
        if getattr(value, "__name__", None) == name:  # a class or a function
            assert getattr(sys.modules[value.__module__], name) is value, name
    assert {*module.__all__, *vars(module)} <= set(dir(module))
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute"):
        module.nope  # noqa: B018


def test_import_nonconvex_reg_loads_no_name_until_it_is_used():
    loaded = _loaded_after("import nonconvex_reg")
    assert not {m for m in loaded if m.startswith("nonconvex_reg.")} - {
        "nonconvex_reg.lazy"
    }
    resolved = _loaded_after(
        "import nonconvex_reg\n"
        "assert nonconvex_reg.LeastSquares.__name__ == 'LeastSquares'\n"
        "assert nonconvex_reg.solvers.__name__ == 'nonconvex_reg.solvers'\n"
        "import nonconvex_reg.verify\n"
        "assert nonconvex_reg.verify.__name__ == 'nonconvex_reg.verify'"
    )
    assert {"nonconvex_reg.datafits", "nonconvex_reg.verify"} <= resolved


def test_the_registries_are_complete_before_any_public_name_is_used():
    # They were filled under the eager imports of nonconvex_reg/__init__.py.
    code = (
        "import inspect\n"
        "from nonconvex_reg.penalties import PENALTY_REGISTRY\n"
        "from nonconvex_reg.testing import MASK_REGISTRY\n"
        "penalties = {family.penalty for family in PENALTY_REGISTRY}\n"
        "masks = {type(mask) for mask in MASK_REGISTRY}\n"
        "import nonconvex_reg as nr\n"
        "exported = [getattr(nr, name) for name in nr.__all__]\n"
        "concrete = [c for c in exported if inspect.isclass(c) "
        "and not inspect.isabstract(c)]\n"
        "assert {c for c in concrete if issubclass(c, nr.GroupPenalty)} == penalties\n"
        "assert {c for c in concrete if issubclass(c, nr.GroupMask)} == masks"
    )
    _loaded_after(code)  # raises CalledProcessError on a failed assert


_HELP = (
    "import contextlib, io\n"
    "from neural.cli import main\n"
    "for argv in (['--help'], ['verify', '--help'], ['bench', '--help']):\n"
    "    with contextlib.suppress(SystemExit), "
    "contextlib.redirect_stdout(io.StringIO()):\n"
    "        main(argv)"
)


@pytest.mark.parametrize(
    "code",
    ["import neural", "from neural.cli import build_parser; build_parser()", _HELP],
)
def test_neither_neural_nor_the_parser_imports_torch_or_a_benchmark(code):
    loaded = _loaded_after(code)
    assert not {"torch", "cvxpy", "matplotlib", "sklearn"} & loaded
    assert {m for m in loaded if m.startswith("benchmarks")} <= {
        "benchmarks",
        "benchmarks.registry",
    }


def test_running_a_bench_verb_imports_its_module():
    loaded = _loaded_after(
        "import contextlib, io\nfrom neural.cli import main\n"
        "with contextlib.suppress(SystemExit), "
        "contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['bench', 'startup', '--help'])"
    )
    assert "benchmarks.startup" in loaded
    assert "benchmarks.pruning" not in loaded


def test_every_public_name_of_neural_resolves_lazily():
    import neural

    for name in neural.__all__:
        assert getattr(neural, name) is not None, name
    assert set(neural.__all__) <= set(dir(neural))
    from neural import prune
    from neural.pruning import prune as eager

    assert prune is eager
    assert neural.schedules.__name__ == "neural.schedules"
    assert neural.models.__name__ == "neural.models"  # any subpackage, as before
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        neural.nope  # noqa: B018
