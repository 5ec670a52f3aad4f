"""Every public name is in the API reference (issue 21).

The API pages (``docs/api/*.rst``) list names in ``autosummary`` blocks under a
``currentmodule``. Each name of a documented module's ``__all__`` must be listed,
under that module or, for a re-export, under another documented module that
binds the same object (``neural.prune`` is ``neural.pruning.prune``). A module
in ``__all__`` (``neural.schedules``) must have its own page.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[2] / "docs" / "api"
OWN_PACKAGES = ("nonconvex_reg", "omp", "neural", "benchmarks")
# The packages issue 21 names; each must have a page.
REQUIRED = {
    "nonconvex_reg",
    "omp",
    "neural",
    "neural.data",
    "neural.export",
    "neural.models",
    "neural.pruning",
    "neural.recipes",
    "neural.train",
    "benchmarks.results",
}

_CURRENT = re.compile(r"^\.\. currentmodule:: (\S+)\s*$")
_AUTOSUMMARY = re.compile(r"^\.\. autosummary::\s*$")


def listed_names(text: str) -> list[str]:
    """Full names of the ``autosummary`` entries of one reST page."""
    names, module, inside = [], None, False
    for line in text.splitlines():
        if match := _CURRENT.match(line):
            module, inside = match[1], False
        elif _AUTOSUMMARY.match(line):
            inside = True
        elif inside and line.startswith("   ") and not line.strip().startswith(":"):
            entry = line.strip()
            names.append(entry if module is None else f"{module}.{entry}")
        elif inside and line.strip() and not line.startswith("   "):
            inside = False
    return names


def resolve(name: str):
    module_name, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


PAGES = sorted(
    p.stem for p in API.glob("*.rst") if p.stem.split(".")[0] in OWN_PACKAGES
)
LISTED = {
    name for page in PAGES for name in listed_names((API / f"{page}.rst").read_text())
}


def test_listed_names_are_parsed():
    text = (
        "Title\n\n.. currentmodule:: omp\n\n.. autosummary::\n   :toctree: g/\n\n"
        "   group_omp\n   best_subset\n\nMore text\n"
    )
    assert listed_names(text) == ["omp.group_omp", "omp.best_subset"]


def test_the_required_packages_and_every_neural_subpackage_have_a_page():
    neural = importlib.import_module("neural")
    subpackages = {
        f"neural.{info.name}"
        for info in pkgutil.iter_modules(neural.__path__)
        if info.ispkg and not info.name.startswith("_")
    }
    assert REQUIRED | subpackages <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_every_name_of_all_is_in_the_reference(page):
    module = importlib.import_module(page)
    missing = []
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.ismodule(value):
            if value.__name__ not in PAGES:
                missing.append(name)
            continue
        if f"{page}.{name}" in LISTED:
            continue
        twins = [
            listed
            for listed in LISTED
            if listed.rsplit(".", 1)[1] == name and resolve(listed) is value
        ]
        if not twins:
            missing.append(name)
    assert missing == [], f"{page}: not in docs/api/{page}.rst nor re-documented"


@pytest.mark.parametrize("page", PAGES)
def test_every_listed_name_is_exported(page):
    listed = listed_names((API / f"{page}.rst").read_text())
    assert listed, page
    for name in listed:
        module_name, _, attribute = name.rpartition(".")
        assert attribute in importlib.import_module(module_name).__all__, name
