"""References cite the paper itself, never our private digest of it (issue 16).

The digest of arXiv:2402.17902 that guided the work is not in the repository and
numbers its sections differently from the paper, so a reference to it cannot be
followed. Every tracked Python, Markdown, TOML and notebook file is scanned.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = (".py", ".md", ".toml", ".ipynb")
# Built from two parts so that this file does not mention the name itself.
DIGEST_NAME = "PAPER" + ".md"
SKIPPED_DIRS = {".git", ".venv", "build", "dist", "__pycache__"}


def _text_files(root):
    """Tracked files of ``root`` with a scanned suffix (all files outside git)."""
    if shutil.which("git") and (root / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode()
        paths = [root / name for name in listed.split("\0") if name]
    else:
        paths = [
            path
            for path in root.rglob("*")
            if not SKIPPED_DIRS.intersection(path.relative_to(root).parts)
            and not any(part.endswith(".egg-info") for part in path.parts)
        ]
    return sorted(p for p in paths if p.suffix in SUFFIXES and p.is_file())


def _mentions(paths):
    """``path:line`` of every line that names the digest (any letter case)."""
    needle = DIGEST_NAME.lower()
    hits = []
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if needle in line.lower():
                hits.append(f"{path}:{number}")
    return hits


def test_the_scan_covers_every_kind_of_file():
    suffixes = {path.suffix for path in _text_files(ROOT)}
    assert suffixes == set(SUFFIXES)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_scan_finds_a_planted_mention(tmp_path, suffix):
    (tmp_path / f"clean{suffix}").write_text("see arXiv:2402.17902, Section 3.1\n")
    (tmp_path / f"cited{suffix}").write_text(f"ok\nas {DIGEST_NAME.lower()} says\n")
    (tmp_path / "notes.txt").write_text(DIGEST_NAME)  # not a scanned suffix
    assert _mentions(_text_files(tmp_path)) == [f"{tmp_path / f'cited{suffix}'}:2"]


def test_no_file_cites_the_digest():
    assert _mentions(_text_files(ROOT)) == []
