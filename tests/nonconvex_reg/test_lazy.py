"""lazy_exports: PEP 562 names that load on first use, on a package built here."""

import sys
import textwrap

import pytest

from nonconvex_reg.lazy import lazy_exports

PACKAGE = "lazy_exports_demo"


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A fresh package: ``Thing`` from ``.things``, ``sub`` as a name, ``_hidden``."""
    root = tmp_path / PACKAGE
    root.mkdir()
    (root / "__init__.py").write_text(
        textwrap.dedent(
            """
            from nonconvex_reg.lazy import lazy_exports

            _EXPORTS = {"Thing": f"{__name__}.things", "sub": None}
            __all__ = ["Thing", "sub"]
            __getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
            """
        )
    )
    (root / "things.py").write_text("class Thing:\n    pass\n")
    (root / "sub.py").write_text("VALUE = 1\n")
    (root / "other.py").write_text("VALUE = 2\n")
    (root / "_hidden.py").write_text("VALUE = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield __import__(PACKAGE)
    for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_a_name_loads_its_module_on_first_access_only(package):
    assert f"{PACKAGE}.things" not in sys.modules
    thing = package.Thing
    assert f"{PACKAGE}.things" in sys.modules
    assert thing is sys.modules[f"{PACKAGE}.things"].Thing
    assert vars(package)["Thing"] is thing  # cached: __getattr__ is not called again
    from lazy_exports_demo import Thing

    assert Thing is thing


def test_a_name_mapped_to_none_and_any_public_submodule_are_modules(package):
    assert package.sub is sys.modules[f"{PACKAGE}.sub"]
    assert package.other.VALUE == 2  # not in the table: bound as an eager import would
    with pytest.raises(AttributeError):
        package._hidden  # noqa: B018


@pytest.mark.parametrize("name", ["nope", "_nope", "things.Thing"])
def test_an_unknown_name_names_the_module_and_the_attribute(package, name):
    with pytest.raises(
        AttributeError, match=rf"module '{PACKAGE}' has no attribute '{name}'"
    ):
        getattr(package, name)


def test_dir_lists_all_and_the_namespace(package):
    names = dir(package)
    assert {"Thing", "sub", "_EXPORTS", "lazy_exports"} <= set(names)
    assert names == sorted(names)


def test_star_import_resolves_every_name(package):
    namespace = {}
    exec(f"from {PACKAGE} import *", namespace)
    assert {"Thing", "sub"} <= set(namespace)


def test_the_functions_state_their_package():
    getattr_, dir_ = lazy_exports({"__name__": "pkg", "__all__": []}, {})
    assert "'pkg'" in getattr_.__doc__ and "'pkg'" in dir_.__doc__
    assert dir_() == ["__all__", "__name__"]
