"""``sapp bench recipes``: quick recipes trained end to end."""

import json

import pytest

from benchmarks import recipes
from neural.cli import main


def test_one_recipe_trains_and_reports():
    calls = []
    record = recipes.recipes_benchmark(
        ["mnist1d_sapp"], steps=20, progress=lambda *a: calls.append(a)
    )
    (row,) = record["rows"]
    assert row["recipe"] == "mnist1d_sapp"
    assert row["steps"] == 20
    assert 0.0 <= row["accuracy"] <= 1.0 and row["loss"] > 0
    assert 0.0 < row["block_sparsity"] < 1.0
    assert calls == [(1, 1, "mnist1d_sapp")]
    text = recipes.recipes_markdown(record)
    assert "| `mnist1d_sapp` | 20 |" in text
    assert f"accuracy {row['accuracy']:.4f}" in text


def test_unknown_recipe_is_refused_before_any_run(tmp_path, capsys):
    with pytest.raises(ValueError, match="`names` must be"):
        recipes.recipes_benchmark(["mnist1d_sapp", "nope"])
    code = main(["bench", "recipes", "--recipes", "nope", "--out", str(tmp_path)])
    assert code == 2
    assert "--recipes must name built-in recipes" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_quick_mode_selects_mnist1d_and_criteo(monkeypatch, tmp_path, capsys):
    seen = []

    def fake(names, progress=None):
        seen.extend(names)
        rows = [
            {"recipe": n, "steps": 1, "wall_time_s": 0.1, "block_sparsity": 0.5}
            for n in names
        ]
        return {"meta": {"command": "sapp bench recipes", "machine": "m"}, "rows": rows}

    monkeypatch.setattr(recipes, "recipes_benchmark", fake)
    assert main(["bench", "recipes", "--quick", "--out", str(tmp_path), "--json"]) == 0
    assert seen and all(n.split("_")[0] in ("mnist1d", "criteo") for n in seen)
    assert json.loads(capsys.readouterr().out)["rows"][0]["recipe"] == seen[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "recipes_quick.json",
        "recipes_quick.md",
    ]
