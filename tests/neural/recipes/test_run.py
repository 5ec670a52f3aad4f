import csv
import datetime
import json

import pytest

from neural.recipes import load_recipe, plan_training
from neural.recipes.run import RECIPE_FILE, RESULT_FILE, default_run_dir
from neural.train.metrics import SUPPORT_NAME

from .conftest import small_recipe


def test_a_run_writes_its_recipe_model_and_result(mnist_run):
    plan, result = mnist_run
    run_dir = plan.run_dir
    assert result.steps == 24 and result.run_dir == str(run_dir)
    assert load_recipe(run_dir / RECIPE_FILE) == plan.recipe
    assert plan.recipe.train["total_steps"] == 24
    record = json.loads((run_dir / RESULT_FILE).read_text())
    assert record["steps"] == 24 and record["recipe"] == "mnist1d_sapp:quick"
    assert record["report"]["block_sparsity"] == pytest.approx(0.9, abs=0.01)
    assert (run_dir / "model.pt").is_file()
    assert result.final_eval["n_samples"] == 100


def test_a_run_writes_its_support_history(mnist_run):
    # issue 15: one row per sparse-phase entry per pruned layer, and a summary
    plan, result = mnist_run
    with open(plan.run_dir / SUPPORT_NAME, newline="") as handle:
        rows = list(csv.DictReader(handle))
    timeline = result.pruner.timeline
    starts = [p.start for p in timeline.phases if p.kind == "sparse"]
    layers = ["layers.0", "layers.2"]
    assert len(starts) >= 2
    assert [(r["layer"], int(r["step"])) for r in rows] == [
        (layer, step) for step in starts for layer in layers
    ]
    assert rows[0]["swapped_in"] == "" and rows[-1]["swapped_in"] != ""
    assert [float(r["jaccard_final"]) for r in rows[-2:]] == [1.0, 1.0]
    record = json.loads((plan.run_dir / RESULT_FILE).read_text())
    summary = record["report"]["support"]
    assert [s["layer"] for s in summary] == layers
    assert {s["sparse_entries"] for s in summary} == {len(starts)}
    assert [s["swapped_in"] for s in summary] == [
        sum(int(r["swapped_in"] or 0) for r in rows if r["layer"] == layer)
        for layer in layers
    ]


def test_steps_rescale_the_warmup_and_say_so(tmp_path):
    recipe = small_recipe(**{"train.warmup_steps": 50})
    plan = plan_training(recipe, run_dir=tmp_path / "r", steps=30)
    assert plan.recipe.train["warmup_steps"] == 3  # 50 of 500 -> 3 of 30
    assert "warmup_steps scaled 50 -> 3" in plan.notes[0]
    plan = plan_training(recipe, run_dir=tmp_path / "r", steps=60, rescale_warmup=False)
    assert plan.recipe.train["warmup_steps"] == 50
    assert not (tmp_path / "r").exists()


def test_a_relative_data_path_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe("criteo_sapp:quick", assignments={"data.path": "synthetic"})
    plan = plan_training(recipe, run_dir="run")
    assert plan.recipe.data["path"] == str(tmp_path / "synthetic")
    assert plan.generate_data and "will be written" in plan.notes[-1]
    assert list(tmp_path.iterdir()) == []


def test_epochs_are_counted_from_the_data(tmp_path):
    recipe = small_recipe(**{"train.epochs": 2})
    plan = plan_training(recipe, run_dir=tmp_path / "r")
    assert (plan.steps_per_epoch, plan.total_steps) == (12, 24)  # 400 // 32


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"steps": 5, "rescale_warmup": False},
            ValueError,
            "`train.warmup_steps` must",
        ),
        ({"resume": True, "run_dir": None}, ValueError, "--run-dir"),
        ({"steps": 0}, ValueError, "`steps` must be an integer in"),
    ],
)
def test_planning_errors_write_nothing(tmp_path, options, error, message):
    options = {"run_dir": tmp_path / "r", **options}
    with pytest.raises(error, match=message):
        plan_training(small_recipe(), **options)
    assert list(tmp_path.iterdir()) == []


def test_a_batch_larger_than_the_data_is_refused(tmp_path):
    with pytest.raises(ValueError, match="`train.batch_size` must be at most the 400"):
        plan_training(small_recipe(**{"train.batch_size": 512}), run_dir=tmp_path / "r")


def test_an_occupied_run_folder_needs_resume(mnist_run, tmp_path):
    plan, _ = mnist_run
    with pytest.raises(FileExistsError, match="pass --resume"):
        plan_training(plan.recipe, run_dir=plan.run_dir)
    other = plan.recipe.updated({"train.lr": 0.5})
    with pytest.raises(ValueError, match=r"train.lr: 0.002 -> 0.5"):
        plan_training(other, run_dir=plan.run_dir, resume=True)
    free = plan.recipe.updated({"train.num_workers": 1})  # RESUME_FREE
    assert plan_training(free, run_dir=plan.run_dir, resume=True).config.resume


def test_missing_real_data_are_refused_before_anything_is_written(tmp_path):
    recipe = load_recipe("criteo_sapp").with_data(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="`data.path`"):
        plan_training(recipe, run_dir=tmp_path / "r")
    with pytest.raises(ValueError, match="`data.path` is required"):
        plan_training(load_recipe("imagenet_sapp"), run_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_default_run_dirs_do_not_collide(tmp_path):
    recipe = small_recipe()
    when = datetime.datetime(2024, 1, 2, 3, 4, 5)
    first = default_run_dir(recipe, parent=tmp_path, now=when)
    assert first.name == "mnist1d_sapp-quick-sapp-20240102-030405"
    first.mkdir()
    assert default_run_dir(recipe, parent=tmp_path, now=when).name.endswith("-2")
