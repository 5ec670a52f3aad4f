"""Public names of a package that load on first use (PEP 562; public: `omp`, `neural`).

A package ``__init__`` that imports every subpackage makes each process that
needs one small module pay for all of them: ``from nonconvex_reg.validation
import check_int`` used to import numba (the design kernels) and
``scipy.optimize`` (the masks) through ``nonconvex_reg/__init__.py``. Instead the
``__init__`` keeps a table, public name -> the module that defines it, and
installs the two module-level functions of :pep:`562` that :func:`lazy_exports`
returns::

    __getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

``from package import name``, ``package.name``, ``from package import *`` and
``import package.sub`` then work as with eager imports; the defining module is
imported on the first access and the value cached in the package's namespace, so
later lookups never reach ``__getattr__``. Any subpackage or module ``sub`` is
also reachable as ``package.sub``, as it was when the eager imports loaded it.

Nothing here may import more than :mod:`importlib` and the typing modules
Python loads at start-up: it runs on every ``import nonconvex_reg``, ``import
omp`` and ``import neural``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: dict[str, Any], exports: Mapping[str, str | None]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The PEP 562 ``__getattr__`` and ``__dir__`` of a package with lazy names.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``: its ``__name__`` names the package, its
        ``__all__`` (read when ``__dir__`` runs) lists the public names, and each
        name is stored in it on first access.
    exports : mapping of str to str or None
        Public name -> the dotted name of the module to import it from, or
        ``None`` when the name is itself a submodule of the package.

    Returns
    -------
    __getattr__ : callable
        ``__getattr__(name)`` imports ``name`` from its module in ``exports``,
        or the submodule ``package.name`` when ``name`` is public (no leading
        underscore) and not in ``exports``; it stores the value in
        ``namespace`` and returns it.
    __dir__ : callable
        ``__dir__()``: the sorted union of ``namespace`` and ``__all__``.

    Raises
    ------
    AttributeError
        From ``__getattr__``, for a name that is neither in ``exports`` nor a
        submodule: "module 'package' has no attribute 'name'", as Python says
        for any module.

    Notes
    -----
    PEP 562 calls ``__getattr__`` only for names the namespace lacks, so the
    cache in ``namespace`` makes every later lookup an ordinary one. An error
    raised while importing the defining module propagates unchanged.

    Examples
    --------
    >>> namespace = {"__name__": "nonconvex_reg", "__all__": ["Groups"]}
    >>> getattr_, dir_ = lazy_exports(namespace, {"Groups": "nonconvex_reg.groups"})
    >>> getattr_("Groups").__module__
    'nonconvex_reg.groups'
    >>> "Groups" in namespace and "Groups" in dir_()
    True
    >>> getattr_("nope")
    Traceback (most recent call last):
    ...
    AttributeError: module 'nonconvex_reg' has no attribute 'nope'
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name in exports:
            source = exports[name]
            if source is None:  # the name is a submodule
                value = importlib.import_module(f"{package}.{name}")
            else:  # a name defined in `source`
                value = getattr(importlib.import_module(source), name)
        elif (  # any public submodule, as an eager import would have bound it
            name.isidentifier()
            and not name.startswith("_")
            and importlib.util.find_spec(f"{package}.{name}") is not None
        ):
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    __getattr__.__doc__ = f"Import a public name of {package!r} on first access."
    __dir__.__doc__ = f"The names of {package!r}: its namespace and ``__all__``."
    return __getattr__, __dir__
