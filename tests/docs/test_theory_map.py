"""The theory map names real code and covers the paper's statements (issue 21).

Every Python object the page links to (``{py:func}`...``` and the like) must
import. Every statement the issue lists must have a row. That every check name
of its last column is a real ``sapp verify`` check, and that every check of a
real report is on the map, is tested beside the one ``sapp verify`` run of the
suite: ``tests/neural/test_cli.py::test_theory_map_matches_a_real_verify_run``.
"""

import importlib
import re
from pathlib import Path

import pytest

THEORY_MAP = Path(__file__).resolve().parents[2] / "docs" / "theory_map.md"
_ROLE = re.compile(r"\{py:(?:func|class|meth|attr|data|mod|obj)\}`~?([\w.]+)`")
# Issue 21's list (arXiv:2402.17902, v1 numbering), as the "paper" column says it.
STATEMENTS = [
    "Lemma 2.1",
    "Lemma 2.2",
    "Lemma 2.3",
    "Lemma 2.4",
    "Lemma 2.5",
    "Theorem 1.1",
    "Definition B.1",
    "Definition B.2",
    "Algorithm 1",
    "Algorithm 2",
    "Theorem B.3",
    "Section 3.1",
    *(f"Appendix C.1, trick {n}" for n in range(1, 6)),
    *(f"Table {n}" for n in range(1, 5)),
]


def import_dotted(name):
    """The object a dotted name refers to; raises if it does not import."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ModuleNotFoundError(name)


def rows(text):
    """The cells of every table row but headers and separators."""
    found = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        if cells[0] != "paper":
            found.append(cells)
    return found


def test_rows_split_on_unescaped_bars_only():
    text = "| paper | x |\n|---|---|\n| Definition B.1 | $\\|b\\|$ |\n"
    assert rows(text) == [["Definition B.1", "$\\|b\\|$"]]


@pytest.mark.parametrize("name", sorted(set(_ROLE.findall(THEORY_MAP.read_text()))))
def test_every_linked_name_imports(name):
    assert import_dotted(name) is not None


def test_every_statement_of_the_paper_has_a_row():
    papers = [cells[0] for cells in rows(THEORY_MAP.read_text())]
    for statement in STATEMENTS:
        assert any(paper.startswith(statement) for paper in papers), statement


def test_every_row_names_code():
    for cells in rows(THEORY_MAP.read_text()):
        assert len(cells) == 4, cells
        assert _ROLE.search(cells[2]), cells[0]
