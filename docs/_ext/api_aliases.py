"""Resolve a Python cross-reference through the object it names.

The API reference documents each public object once, under the name users
import it by (``neural.prune``, ``nonconvex_reg.Groups``). Docstrings often name
the same object by the module that defines it (``neural.pruning.base.BlockPruner``)
or relative to that module (``minimize_masked``). When Sphinx finds no page for
such a target, this extension imports it and links to the documented name bound
to the same object. A target that imports to nothing documented stays missing,
so nitpicky mode still reports it.
"""

from __future__ import annotations

import importlib

from sphinx.util.nodes import make_refnode


def import_dotted(name: str):
    """The object a dotted name refers to, or ``None`` if it does not import.

    The longest importable module prefix is imported, then the rest of the name
    is read as attributes.
    """
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except Exception:  # a module that fails to import names nothing here
            return None
        for attribute in parts[cut:]:
            try:
                value = getattr(value, attribute)
            except AttributeError:
                return None
        return value
    return None


def candidate_names(target: str, module: str | None, cls: str | None) -> list[str]:
    """Full names ``target`` may stand for, most specific first.

    Besides the documented context (``module``, ``cls``), the module that
    defines the documented object and the packages above are tried: docstrings
    name their neighbours relative to where they are written.
    """
    contexts = [c for c in (module and cls and f"{module}.{cls}", module) if c]
    for context in list(contexts):
        owner = import_dotted(context)
        defined_in = getattr(owner, "__module__", None)
        if isinstance(defined_in, str) and defined_in not in contexts:
            contexts.append(defined_in)
    # A relative name (``.minimize.minimize_masked`` in a module of
    # ``nonconvex_reg.masks``) may start from any package above the context.
    for context in list(contexts):
        parts = context.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            ancestor = ".".join(parts[:cut])
            if ancestor not in contexts:
                contexts.append(ancestor)
    return [f"{context}.{target}" for context in contexts] + [target]


def _identity(value) -> int:
    """``id`` of the object behind ``value`` (a bound method's function)."""
    return id(getattr(value, "__func__", value))


class _Aliases:
    """Documented Python objects by identity, built once per build."""

    def __init__(self):
        self._by_id = None

    def reset(self, app, env, docnames) -> None:
        self._by_id = None

    def documented(self, domain, value):
        if self._by_id is None:
            self._by_id = {}
            for fullname, entry in domain.objects.items():
                if entry.aliased:
                    continue
                found = import_dotted(fullname)
                if found is not None:
                    self._by_id.setdefault(_identity(found), (fullname, entry))
            for modname, entry in domain.modules.items():
                found = import_dotted(modname)
                if found is not None:
                    self._by_id.setdefault(_identity(found), (modname, entry))
        return self._by_id.get(_identity(value))

    def resolve(self, app, env, node, contnode):
        if node.get("refdomain") != "py":
            return None
        target = node["reftarget"].removesuffix("()")
        domain = env.get_domain("py")
        context = node.get("py:module"), node.get("py:class")
        for name in candidate_names(target, *context):
            value = import_dotted(name)
            if value is None or isinstance(value, (int, float, str, bool)):
                continue  # literals are shared by unrelated names
            hit = self.documented(domain, value)
            if hit is not None:
                fullname, entry = hit
                node_id = getattr(entry, "node_id", fullname)
                return make_refnode(
                    app.builder,
                    node["refdoc"],
                    entry.docname,
                    node_id,
                    contnode,
                    fullname,
                )
        return None


def setup(app):
    """Register the resolver for references Sphinx could not resolve itself."""
    aliases = _Aliases()
    app.connect("env-before-read-docs", aliases.reset)
    app.connect("missing-reference", aliases.resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
