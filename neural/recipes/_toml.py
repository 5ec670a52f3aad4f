"""A small TOML writer for resolved recipes (the standard library only reads TOML).

Top-level scalars come first, then one ``[table]`` per top-level dict; values
nested deeper are written inline (``{c = 4.0}``, arrays of inline tables).
Strings use TOML basic strings (JSON escapes minus the ASCII-only ones), floats
their shortest ``repr``; ``None`` has no TOML form, so such keys are left out.
``tomllib.loads(dumps(d))`` gives ``d`` back for these value types.
"""

from __future__ import annotations

import json
import math
import re

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as TOML.")


def dumps(document: dict, header: str = "") -> str:
    """Write ``document`` (plain values, one level of tables) as TOML text.

    Parameters
    ----------
    document : dict
        Top-level scalars and tables (dicts); ``None`` values are left out.
    header : str, default=""
        Comment lines put first (each prefixed with ``# ``).

    Returns
    -------
    str

    Examples
    --------
    >>> import tomllib
    >>> doc = {"name": "x", "train": {"lr": 1e-05, "betas": [0.9, 0.999]}}
    >>> print(dumps(doc))
    name = "x"
    <BLANKLINE>
    [train]
    lr = 1e-05
    betas = [0.9, 0.999]
    <BLANKLINE>
    >>> tomllib.loads(dumps(doc)) == doc
    True
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    tables = {k: v for k, v in document.items() if isinstance(v, dict)}
    for key, value in document.items():
        if key not in tables and value is not None:
            lines.append(f"{_key(key)} = {_value(value)}")
    for name, table in tables.items():
        lines += ["", f"[{_key(name)}]"]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"
