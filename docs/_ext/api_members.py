"""What the API reference shows of each object: members, bases, module notes.

* Members written in another project are left out: scikit-learn adds
  ``set_fit_request``-style methods to every estimator, torch's ``nn.Module``
  brings its own; their docstrings belong to those projects' references.
* A base class that is not itself in the reference (``abc.ABC``, a private
  helper such as ``_PowerPenalty``) is replaced by its own bases, recursively,
  so "Bases:" names only classes a reader can follow: one exported by a
  documented module's ``__all__``, or a class of another project.

* A constant's docstring is its ``#:`` comment in the module that defines it
  (``RESUME_FREE`` in ``neural.train.config``), not the docstring of its type
  (``frozenset``), which is what autodoc finds under the re-exporting package.
* Docstrings often defer to "the module docstring" of the module that defines
  them. Each API page ends with the docstrings of the modules that define its
  objects (the ``api-module-notes`` directive), and such a docstring gets a link
  to its module's note.

The documented modules are the pages of ``api/`` (``api/omp.rst`` documents
``omp``), the same list ``tests/docs/test_api_reference.py`` checks.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

from sphinx.util.docutils import SphinxDirective

#: Top-level packages of this repository.
OWN_PACKAGES = ("nonconvex_reg", "omp", "neural", "benchmarks")


def documented_modules(srcdir) -> list[str]:
    """Module names with a page in ``api/`` (``api/neural.train.rst``)."""
    pages = Path(srcdir, "api").glob("*.rst")
    return sorted(p.stem for p in pages if p.stem.split(".")[0] in OWN_PACKAGES)


def _is_own(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in OWN_PACKAGES


def public_bases(cls, exported_ids) -> list[type]:
    """The bases to show for ``cls``: exported or foreign, in MRO order."""
    shown = []
    for base in cls.__bases__:
        if base is object:
            continue
        if id(base) in exported_ids or not (_is_own(base) or base.__module__ == "abc"):
            candidates = [base]
        else:
            candidates = public_bases(base, exported_ids)
        shown += [c for c in candidates if c not in shown]
    return shown


class _ClassPages:
    def __init__(self):
        self._exported = None

    def exported_ids(self, app) -> set[int]:
        if self._exported is None:
            self._exported = set()
            for name in documented_modules(app.srcdir):
                module = importlib.import_module(name)
                self._exported |= {id(getattr(module, n)) for n in module.__all__}
        return self._exported

    def bases(self, app, name, obj, options, bases) -> None:
        bases[:] = public_bases(obj, self.exported_ids(app))

    def skip(self, app, what, name, obj, skip, options):
        if what != "class":
            return None
        target = inspect.unwrap(obj.fget) if isinstance(obj, property) else obj
        if callable(target) or isinstance(obj, property):
            if not _is_own(target):
                return True  # written in another project: documented there
        return None


def defining_modules(package: str) -> list[str]:
    """Modules that define the objects of ``package.__all__``, but ``package``."""
    module = importlib.import_module(package)
    names = set()
    for name in module.__all__:
        value = getattr(module, name)
        defined = getattr(value, "__module__", None)
        if inspect.ismodule(value) or not isinstance(defined, str):
            continue
        if defined != package and defined.startswith(package + "."):
            names.add(defined)
    return sorted(names)


class ModuleNotes(SphinxDirective):
    """``.. api-module-notes:: PACKAGE``: the docstrings of its defining modules."""

    required_arguments = 1

    def run(self):
        """A rubric and the docstring of each defining module this page owns."""
        package = self.arguments[0]
        pages = documented_modules(self.env.srcdir)
        exported = set(importlib.import_module(package).__all__)
        result = []
        for name in defining_modules(package):
            owner = max((p for p in pages if name.startswith(p + ".")), key=len)
            if owner != package:
                continue  # its own API page shows it
            result += self.parse_text_to_nodes(f".. rubric:: ``{name}``\n")
            if name.rsplit(".", 1)[1] in exported:
                # ``neural.train.evaluate`` is also a function, whose page keeps
                # the name: the module's docstring is shown, not declared.
                result += self._docstring(name)
            else:
                result += self.parse_text_to_nodes(
                    f".. automodule:: {name}\n   :no-members:\n"
                )
        return result

    def _docstring(self, name):
        context = self.env.ref_context
        previous = context.get("py:module")
        context["py:module"] = name  # references resolve as in the module
        try:
            text = inspect.cleandoc(importlib.import_module(name).__doc__ or "")
            return self.parse_text_to_nodes(text)
        finally:
            if previous is None:
                context.pop("py:module", None)
            else:
                context["py:module"] = previous


def constant_doc(name: str, value) -> list[str]:
    """The ``#:`` comment of the constant ``name`` (``neural.train.RESUME_FREE``).

    Looked up in every loaded module of the same top-level package that binds
    ``value`` to that name; empty if none documents it.
    """
    from sphinx.pycode import ModuleAnalyzer

    package, attribute = name.split(".")[0], name.rsplit(".", 1)[1]
    for module_name, module in sorted(sys.modules.items()):
        if module_name.split(".")[0] != package or module is None:
            continue
        if vars(module).get(attribute, _MISSING) is not value:
            continue
        try:
            docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except Exception:  # no source to read: nothing documented there
            continue
        if ("", attribute) in docs:
            return list(docs["", attribute])
    return []


_MISSING = object()


def _document_constant(app, what, name, obj, options, lines) -> None:
    if what not in ("data", "attribute") or inspect.isclass(obj):
        return
    inherited = inspect.getdoc(type(obj)) or ""
    if lines and "\n".join(lines).strip() != inherited.strip():
        return  # a docstring of its own
    lines[:] = constant_doc(name, obj)


def _link_module_note(app, what, name, obj, options, lines) -> None:
    if what in ("module", "data", "attribute") or not _is_own(obj):
        return
    if any("module docstring" in line for line in lines):
        lines += ["", f"The module docstring: :mod:`{obj.__module__}`."]


def setup(app):
    """Connect the filters to autodoc and register ``api-module-notes``."""
    pages = _ClassPages()
    app.connect("autodoc-process-bases", pages.bases)
    app.connect("autodoc-skip-member", pages.skip)
    # Before numpydoc (priority 500) rewrites the lines it compares.
    app.connect("autodoc-process-docstring", _document_constant, priority=100)
    app.connect("autodoc-process-docstring", _link_module_note)
    app.add_directive("api-module-notes", ModuleNotes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
