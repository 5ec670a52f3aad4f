"""The README's Python blocks run as written (issue #16).

Every fenced ``python`` block of README.md runs, in order, in one namespace, as a
reader would paste them into one session. A block written with ``>>>`` prompts
is a doctest: its printed outputs are checked (``ELLIPSIS`` and
``NORMALIZE_WHITESPACE``, as the package's doctests). Any other block is executed.
A failure names the block's first line in the README.
"""

from __future__ import annotations

import doctest
import os
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# An opening fence (possibly indented inside a list item), its body, the close.
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line, source)`` of each fenced python block, dedented, in order."""
    return [
        (text.count("\n", 0, match.start()) + 2, textwrap.dedent(match["body"]))
        for match in _FENCE.finditer(text)
    ]


def run_block(source: str, namespace: dict, name: str) -> None:
    """Run one block: as a doctest when it has ``>>>`` prompts, else ``exec``."""
    if ">>>" not in source:
        exec(compile(source, name, "exec"), namespace)
        return
    test = doctest.DocTestParser().get_doctest(source, namespace, name, name, 0)
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    failures = []
    runner.run(test, out=failures.append, clear_globs=False)
    namespace.update(test.globs)  # DocTest ran on a copy of the namespace
    if runner.failures:
        raise AssertionError("".join(failures))


def test_python_blocks_are_found():
    text = "intro\n```python\nx = 1\n```\n- item\n\n  ```python\n  y = x\n  ```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (8, "y = x\n")]


def test_doctest_block_checks_output():
    with pytest.raises(AssertionError, match="Expected"):
        run_block(">>> 1 + 1\n3\n", {}, "block")
    namespace: dict = {}
    run_block(">>> z = 2\n>>> z * 3\n6\n", namespace, "block")
    assert namespace["z"] == 2


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no python block"
    monkeypatch.chdir(tmp_path)  # files a snippet writes land in a scratch folder
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "readme"}
    for line, source in blocks:
        try:
            run_block(source, namespace, f"README.md:{line}")
        except Exception as error:  # name the block, keep the cause
            raise AssertionError(f"README.md block at line {line} failed") from error
    assert os.getcwd() == str(tmp_path)
