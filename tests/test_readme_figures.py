"""Every figure of the README stands in the committed result it cites (issue 16).

A README bullet that links reports under ``benchmarks/results/`` may only quote
decimal figures (``0.5947``, ``12.3x``, ``5.1e-16``) that appear, as written,
in one of the reports it links: a rerun that changes a report without the README
fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_REPORT_LINK = re.compile(r"\]\((benchmarks/results/[\w.-]+\.md)\)")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\d])")


def _bullets(text: str) -> list[str]:
    """The README's list items, each with its continuation lines joined."""
    items, current = [], None
    for line in text.splitlines():
        if line.startswith("- "):
            if current is not None:
                items.append(current)
            current = line
        elif current is not None and line.startswith("  "):
            current += " " + line.strip()
        else:
            if current is not None:
                items.append(current)
            current = None
    if current is not None:
        items.append(current)
    return items


def _cited_bullets() -> list[tuple[str, list[str]]]:
    text = README.read_text(encoding="utf-8")
    return [
        (bullet, _REPORT_LINK.findall(bullet))
        for bullet in _bullets(text)
        if _REPORT_LINK.search(bullet)
    ]


def test_the_readme_cites_reports():
    assert len(_cited_bullets()) >= 3


@pytest.mark.parametrize("bullet, reports", _cited_bullets(), ids=lambda v: str(v)[:40])
def test_figures_of_a_bullet_are_in_its_reports(bullet, reports):
    texts = [(ROOT / report).read_text(encoding="utf-8") for report in reports]
    missing = [
        figure
        for figure in _DECIMAL.findall(bullet)
        if not any(figure in text for text in texts)
    ]
    assert not missing, f"{missing} not in {reports}: {bullet[:80]}"
