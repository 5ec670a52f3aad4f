import os

import pytest

from neural.atomic import atomic_file


def test_atomic_file_has_the_mode_open_would_give(tmp_path):
    # mkstemp creates 0600 files; results and checkpoints must stay readable.
    mask = os.umask(0o027)
    try:
        with atomic_file(tmp_path / "result.md") as tmp:
            tmp.write_text("done")
    finally:
        os.umask(mask)
    assert (tmp_path / "result.md").stat().st_mode & 0o777 == 0o640


def test_atomic_file_leaves_the_old_file_on_error(tmp_path):
    target = tmp_path / "result.md"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.md"]
