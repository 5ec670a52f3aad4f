import tomllib

import pytest

from neural.recipes import load_recipe, parse_assignment, recipe_names
from neural.recipes.recipe import RECIPES_DIR, merge, recipe_from_dict, set_key
from neural.schedules import PRESETS

EXPECTED = [
    *(f"criteo_{m}" for m in ("acdc", "magnitude", "powerprop", "sapp")),
    *(f"imagenet_{m}" for m in ("acdc", "magnitude", "powerprop", "sapp")),
    *(f"mnist1d_{m}" for m in ("acdc", "magnitude", "powerprop", "sapp")),
]
ALL = [*EXPECTED, *(f"{name}:quick" for name in EXPECTED)]


def test_the_shipped_recipes_are_one_per_experiment_and_method():
    assert recipe_names() == EXPECTED


@pytest.mark.parametrize("name", ALL)
def test_every_recipe_and_quick_variant_validates(name):
    recipe = load_recipe(name)
    assert recipe.name == name
    assert recipe.method == name.split(":")[0].rpartition("_")[2]
    assert recipe.prune["timeline"] in PRESETS
    assert recipe.description
    if name.endswith(":quick"):
        assert recipe.data["kind"] in (
            "synthetic_imagenet",
            "synthetic_criteo",
            "mnist1d",
        )
        assert recipe.train["total_steps"] <= 500
        assert "path" not in recipe.data


@pytest.mark.parametrize("name", ["imagenet_sapp", "imagenet_acdc"])
def test_imagenet_recipes_follow_the_paper(name):
    recipe = load_recipe(name)
    assert recipe.model == {
        "name": "resnet50",
        "num_classes": 1000,
        "width": 64,
        "small_input": False,
    }
    train = recipe.train
    assert (train["epochs"], train["batch_size"], train["lr"]) == (90, 2048, 0.8)
    assert (train["optimizer"], train["momentum"]) == ("sgd", 0.9)
    assert train["schedule"] == "warmup_cosine"
    assert train["warmup_steps"] == 5 * (1_281_167 // 2048)  # 5 epochs
    assert (recipe.prune["block"], recipe.prune["sparsity"]) == (16, 0.9)
    assert recipe.prune["min_blocks"] == 100
    assert recipe.prune["timeline"] == f"{recipe.method}_imagenet"


@pytest.mark.parametrize("method", ["magnitude", "powerprop", "acdc", "sapp"])
def test_criteo_recipes_follow_the_paper(method):
    recipe = load_recipe(f"criteo_{method}")
    train = recipe.train
    assert (train["epochs"], train["batch_size"]) == (25, 32768)
    assert (train["optimizer"], train["lr"], train["final_lr"]) == ("adam", 2e-2, 3e-4)
    assert (train["schedule"], train["loss"]) == ("exponential", "bce_with_logits")
    assert recipe.model["name"] == "criteo_dnn"
    assert recipe.prune["layers"] == ["tower.layers.0"]
    assert (recipe.prune["block"], recipe.prune["sparsity"]) == (10, 0.9)
    if method == "acdc":  # the paper's ACDC masked on Criteo (Section 4)
        assert recipe.prune["reenter"] == "keep"
        assert recipe.prune["timeline"] == "acdc_criteo"


@pytest.mark.parametrize("experiment", ["criteo", "imagenet", "mnist1d"])
def test_acdc_and_sapp_share_one_reentry_convention_per_experiment(experiment):
    # issue 15: masking (Algorithm 1's, and the paper's ACDC on Criteo)
    conventions = {
        load_recipe(f"{experiment}_{m}").prune["reenter"] for m in ("acdc", "sapp")
    }
    assert conventions == {"keep"}


def test_a_recipe_without_reenter_gets_the_methods_own():
    for method, default in (("sapp", "keep"), ("acdc", "zero")):
        raw = load_recipe(f"mnist1d_{method}").to_dict()
        del raw["prune"]["reenter"]
        assert recipe_from_dict(raw).prune["reenter"] == default


def test_the_sapp_ablation_knobs_are_recipe_keys():
    # issue 15: logit weight decay and learning-rate multiplier, c, clipping,
    # update frequency, re-entry and the timeline without sparsify phases
    recipe = load_recipe(
        "criteo_sapp:quick",
        assignments={
            "prune.logit_weight_decay": 1e-4,
            "prune.logit_lr_multiplier": 10.0,
            "prune.timeline_args.c": 8.0,
            "prune.attention_bounds": "none",
            "prune.update_every": 5,
            "prune.reenter": "zero",
        },
    )
    prune = recipe.prune
    assert (prune["logit_weight_decay"], prune["logit_lr_multiplier"]) == (1e-4, 10.0)
    assert prune["timeline_args"] == {"c": 8.0}
    assert (prune["attention_bounds"], prune["update_every"]) == ("none", 5)
    assert prune["reenter"] == "zero"
    table3 = load_recipe("criteo_sapp", assignments={"prune.timeline": "acdc_criteo"})
    assert table3.method == "sapp" and table3.prune["timeline"] == "acdc_criteo"
    assert load_recipe("criteo_sapp").prune["logit_weight_decay"] == 1e-4


def test_the_quick_variant_merges_over_the_recipe():
    full, quick = load_recipe("criteo_sapp"), load_recipe("criteo_sapp:quick")
    assert quick.model["buckets"] == 1000
    assert quick.model["hidden"] == full.model["hidden"]  # merged, not replaced
    assert quick.train["schedule"] == full.train["schedule"] == "exponential"
    assert quick.train["lr"] / quick.train["final_lr"] == pytest.approx(
        full.train["lr"] / full.train["final_lr"]
    )
    assert "epochs" not in quick.train  # total_steps replaced it
    assert quick.prune == full.prune


def test_a_resolved_recipe_round_trips_through_its_toml(tmp_path):
    recipe = load_recipe("imagenet_sapp:quick", assignments={"prune.block": [8, 4]})
    path = tmp_path / "recipe.toml"
    path.write_text(recipe.to_toml())
    again = load_recipe(path)
    assert again == recipe
    assert tomllib.loads(recipe.to_toml())["name"] == "imagenet_sapp:quick"


# merging and extends


def test_merge_merges_tables_and_replaces_other_values():
    base = {"train": {"lr": 0.1, "betas": [0.9, 0.99]}, "prune": {"layers": ["a"]}}
    override = {"train": {"betas": [0.5, 0.5]}, "prune": {"layers": ["b", "c"]}}
    assert merge(base, override) == {
        "train": {"lr": 0.1, "betas": [0.5, 0.5]},
        "prune": {"layers": ["b", "c"]},
    }
    assert base["train"]["betas"] == [0.9, 0.99]  # inputs untouched


def test_total_steps_and_epochs_are_one_choice():
    assert merge({"train": {"epochs": 3}}, {"train": {"total_steps": 7}}) == {
        "train": {"total_steps": 7}
    }
    raw = {"train": {"total_steps": 7, "lr": 1.0}}
    set_key(raw, "train.epochs", 2)
    assert raw == {"train": {"epochs": 2, "lr": 1.0}}


def test_another_data_kind_replaces_the_data_table():
    base = {"data": {"kind": "criteo", "train": "t"}}
    assert merge(base, {"data": {"kind": "mnist1d"}}) == {"data": {"kind": "mnist1d"}}
    assert merge(base, {"data": {"val": "v"}})["data"] == {
        "kind": "criteo",
        "train": "t",
        "val": "v",
    }


def test_a_file_extends_a_builtin_base_and_overrides_tables(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "criteo"\n[prune]\nmethod = "acdc"\ntimeline = "acdc_criteo"\n'
        "[train]\nlr = 0.01\n"
    )
    recipe = load_recipe(path)
    assert recipe.name == "mine"
    assert recipe.train["lr"] == 0.01 and recipe.train["batch_size"] == 32768
    assert recipe.prune["layers"] == ["tower.layers.0"]
    quick = load_recipe(f"{path}:quick")
    assert quick.name == "mine:quick" and quick.data["kind"] == "synthetic_criteo"


def test_extends_follows_relative_files_and_refuses_cycles(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "criteo_sapp"\n[prune]\nblock = 5\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n[prune]\nsparsity = 0.95\n')
    recipe = load_recipe(tmp_path / "b.toml")
    assert (recipe.method, recipe.prune["block"], recipe.prune["sparsity"]) == (
        "sapp",
        5,
        0.95,
    )
    (tmp_path / "c.toml").write_text('extends = "d.toml"\n')
    (tmp_path / "d.toml").write_text('extends = "c.toml"\n')
    with pytest.raises(ValueError, match="cycle"):
        load_recipe(tmp_path / "c.toml")
    (tmp_path / "e.toml").write_text('extends = "nowhere"\n')
    with pytest.raises(ValueError, match="built-in base"):
        load_recipe(tmp_path / "e.toml")


# names, methods and overrides


def test_method_picks_the_same_experiments_recipe():
    assert load_recipe("criteo_sapp:quick", method="acdc").name == "criteo_acdc:quick"
    with pytest.raises(ValueError, match="no built-in recipe 'imagenet_dense'"):
        load_recipe("imagenet_sapp", method="dense")


def test_assignments_are_set_after_the_quick_variant():
    recipe = load_recipe(
        "mnist1d_sapp:quick",
        assignments={"train.lr": 0.01, "prune.timeline_args.c": 8.0},
    )
    assert recipe.train["lr"] == 0.01
    assert recipe.prune["timeline_args"] == {"c": 8.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train.lr=0.1", ("train.lr", 0.1)),
        ("train.betas = [0.9, 0.99]", ("train.betas", [0.9, 0.99])),
        ("prune.timeline=gradual", ("prune.timeline", "gradual")),
        ('prune.block="8x4"', ("prune.block", "8x4")),
        ("train.shuffle=false", ("train.shuffle", False)),
    ],
)
def test_parse_assignment_reads_toml_values(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["train.lr", "=3", "train..lr=1", "train.lr="])
def test_parse_assignment_refuses_malformed_text(text):
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignment(text)


def test_with_data_turns_synthetic_data_into_the_real_kind(tmp_path):
    recipe = load_recipe("imagenet_sapp:quick").with_data(tmp_path)
    assert recipe.data == {
        "kind": "imagenet",
        "path": str(tmp_path),
        "train": "train",
        "val": "val",
        "image_size": 32,
        "eval_resize": 36,
    }
    with pytest.raises(ValueError, match="`data.path` does not apply"):
        load_recipe("mnist1d_sapp").with_data(tmp_path)


# errors: one message naming the dotted key and the accepted range


@pytest.mark.parametrize(
    ("assignments", "error", "message"),
    [
        (
            {"train.lrr": 0.1},
            ValueError,
            "unknown key `train.lrr`; did you mean `train.lr`",
        ),
        ({"train.lr": -1.0}, ValueError, r"`train.lr` must be in \(0, inf\); got -1.0"),
        ({"train.betas": [0.9, 1.5]}, ValueError, r"`train.betas\[1\]` must be in"),
        ({"train.optimizer": "lion"}, ValueError, "`train.optimizer` must be one of"),
        ({"train.run_dir": "x"}, ValueError, "pass --run-dir"),
        ({"prune.sparsity": 1.0}, ValueError, r"`prune.sparsity` must be in \[0, 1\)"),
        ({"prune.block": 0}, ValueError, "`prune.block` sizes must be >= 1"),
        ({"prune.method": "obs"}, ValueError, "`prune.method` must be one of"),
        (
            {"prune.alpha": 2.0},
            ValueError,
            "`prune.alpha` applies to method 'powerprop'",
        ),
        ({"prune.timeline": "cosine"}, ValueError, "`prune.timeline` must be one of"),
        (
            {"prune.timeline_args.finetune": 0.1},
            ValueError,
            "`prune.timeline_args.finetune` is not an argument",
        ),
        (
            {"prune.timeline_args.c": -1.0},
            ValueError,
            "`prune.timeline_args.c` must be",
        ),
        ({"prune.layers": ["tower.layers.9"]}, ValueError, "`prune.layers` names"),
        (
            {"prune.logit_lr_multiplier": 0},
            ValueError,
            r"`prune.logit_lr_multiplier` must be in \(0, inf\)",
        ),
        (
            {"prune.logit_lr_multiplier": 10.0, "prune.logit_lr": 0.1},
            ValueError,
            "`prune.logit_lr` and `prune.logit_lr_multiplier` are exclusive",
        ),
        (
            {"prune.logit_weight_decay": -1.0},
            ValueError,
            r"`prune.logit_weight_decay` must be in \[0, inf\)",
        ),
        ({"prune.reenter": "mask"}, ValueError, "`prune.reenter` must be one of"),
        (
            {
                "prune.scope": "global",
                "prune.layers": [
                    {"tensor_fqn": "tower.layers.0", "sparsity": 0.5},
                    "tower.layers.2",
                ],
            },
            ValueError,
            "per-layer `prune.sparsity` overrides need scope='layer'",
        ),
        ({"prune.ignore": "("}, ValueError, "not a regular expression"),
        ({"prune.block": 64}, ValueError, "`prune` selects no layer"),
        ({"model.width": 16}, ValueError, "unknown key `model.width`"),
        (
            {"model.buckets": 1},
            ValueError,
            r"`model.buckets` must be an integer in \[2",
        ),
        ({"model.hidden": []}, TypeError, "`model.hidden` must be a list"),
        ({"data.n_train": 0}, ValueError, r"`data.n_train` must be an integer in \[1"),
        ({"data.buckets": 500}, ValueError, "`model.buckets` must equal data.buckets"),
        ({"train.loss": "cross_entropy"}, ValueError, "`train.loss` must be 'bce_with"),
        ({"data.kind": "mnist1d"}, ValueError, "`data.kind` must be one of"),
    ],
)
def test_a_bad_value_names_its_key_and_range(assignments, error, message):
    with pytest.raises(error, match=message) as info:
        load_recipe("criteo_sapp:quick", assignments=assignments)
    assert str(info.value).startswith("recipe 'criteo_sapp:quick': ")


def test_overrides_name_a_key_of_a_table():
    with pytest.raises(ValueError, match="TABLE among"):
        load_recipe("criteo_sapp:quick", assignments={"quick.train.lr": 1.0})


def test_unknown_tables_and_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"must be a built-in recipe \['criteo_acdc'"):
        load_recipe("criteo_spp")
    with pytest.raises(ValueError, match="built-in recipe"):
        load_recipe("_criteo")  # a base is not a recipe
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_recipe(tmp_path / "missing.toml")
    path = tmp_path / "typo.toml"
    path.write_text('extends = "criteo_sapp"\n[trian]\nlr = 1.0\n')
    with pytest.raises(ValueError, match="unknown key `trian`"):
        load_recipe(path)
    path.write_text('extends = "criteo_sapp"\n[quick.trian]\nlr = 1.0\n')
    with pytest.raises(ValueError, match="unknown key `quick.trian`"):
        load_recipe(path)
    path.write_text("[train\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_recipe(path)


def test_quick_needs_a_quick_table(tmp_path):
    path = tmp_path / "plain.toml"
    path.write_text(load_recipe("mnist1d_sapp").to_toml())
    with pytest.raises(ValueError, match=r"has no \[quick\] table"):
        load_recipe(f"{path}:quick")


def test_model_and_data_must_fit_each_other():
    raw = load_recipe("imagenet_sapp:quick").to_dict()
    raw["model"]["num_classes"] = 7
    with pytest.raises(
        ValueError, match="`model.num_classes` must equal data.n_classes"
    ):
        recipe_from_dict(raw)
    raw = load_recipe("mnist1d_sapp").to_dict()
    raw["model"]["sizes"] = [40, 64, 3]
    with pytest.raises(ValueError, match="`model.sizes` must start with 40"):
        recipe_from_dict(raw)
    raw = load_recipe("mnist1d_sapp").to_dict()
    del raw["prune"]
    with pytest.raises(ValueError, match=r"the \[prune\] table is required"):
        recipe_from_dict(raw)


def test_builtin_files_use_only_known_bases():
    bases = sorted(p.stem for p in RECIPES_DIR.glob("_*.toml"))
    assert bases == ["_criteo", "_imagenet", "_mnist1d"]
