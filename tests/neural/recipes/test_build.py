import json
import warnings

import pytest
import torch

from neural.data.synthetic_images import generate_image_folder
from neural.recipes import (
    build_dataset,
    build_model,
    example_inputs,
    load_recipe,
    pruned_layers,
    pruner_factory,
    recipe_names,
)
from neural.recipes.build import (
    SYNTHETIC_RECORD,
    check_data_root,
    data_root,
    ensure_synthetic_data,
    n_train_samples,
)
from neural.train import call_model

FULL = recipe_names()


@pytest.mark.parametrize("name", FULL)
def test_every_recipe_builds_its_model_and_pruner_on_the_meta_device(name):
    # Full-size models (ResNet-50, 68M embedding rows) cost nothing on "meta".
    recipe = load_recipe(name)
    model = build_model(recipe, device="meta")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    pruner = pruner_factory(recipe)(model, optimizer, 1000)
    assert pruner.name == recipe.method
    assert pruner.total_steps == pruner.timeline.total_steps == 1000
    assert {s.name: s.grid.block_shape for s in pruner.layers} == pruned_layers(recipe)
    assert all(s.sparsity == recipe.prune["sparsity"] for s in pruner.layers)


@pytest.mark.parametrize("name", FULL)
def test_every_quick_variant_builds_a_model_that_runs_and_a_pruner(name):
    recipe = load_recipe(f"{name}:quick")
    torch.manual_seed(0)
    model = build_model(recipe)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    total = recipe.train["total_steps"]
    pruner = pruner_factory(recipe)(model, optimizer, total)
    output = call_model(model, example_inputs(recipe, 4))
    expected = (4,) if recipe.model["name"] == "criteo_dnn" else (4, 10)
    assert tuple(output.shape) == expected
    assert pruner.layers and pruner.optimizer is optimizer


def test_the_paper_timelines_and_options_reach_the_pruner():
    recipe = load_recipe("criteo_acdc")
    model = build_model(recipe, device="meta")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no optimizer
        pruner = pruner_factory(recipe)(model, None, 1000)
    assert pruner.reenter == "keep"
    assert [p.kind for p in pruner.timeline.phases[:3]] == ["dense", "sparse", "dense"]
    assert pruner.timeline.phases[0].stop == 200  # 20% dense
    recipe = load_recipe(
        "criteo_sapp", assignments={"prune.attention_bounds": [0.5, 2.0]}
    )
    model = build_model(recipe, device="meta")
    pruner = pruner_factory(recipe)(model, torch.optim.Adam(model.parameters()), 100)
    assert pruner.attention_bounds == (0.5, 2.0)
    recipe = load_recipe("imagenet_magnitude", assignments={"prune.block": "8x4"})
    model = build_model(recipe, device="meta")
    pruner = pruner_factory(recipe)(model, torch.optim.SGD(model.parameters()), 100)
    assert pruner.timeline.phases[-1].n_steps == 15  # one_shot, finetune 0.15
    assert {s.grid.block_shape for s in pruner.layers} == {(8, 4)}


def test_logit_options_reach_the_logits_parameter_group():
    # issue 15: a separate group for the logits, its rate a multiple of train.lr
    recipe = load_recipe(
        "criteo_sapp:quick", assignments={"prune.logit_lr_multiplier": 100.0}
    )
    model = build_model(recipe, device="meta")
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.train["lr"])
    pruner = pruner_factory(recipe)(model, optimizer, 400)
    logits = optimizer.param_groups[-1]
    assert logits["params"] == [m.logits for m in pruner.masks]
    assert logits["lr"] == pytest.approx(100.0 * 5e-3)
    assert logits["weight_decay"] == 1e-4 and pruner.reenter == "keep"


def test_example_inputs_follow_the_recipe():
    assert example_inputs(load_recipe("imagenet_sapp"), 2).shape == (2, 3, 224, 224)
    assert example_inputs(load_recipe("mnist1d_acdc"), 3).shape == (3, 40)
    dense, categorical = example_inputs(load_recipe("criteo_sapp"), 5)
    assert dense.shape == (5, 13) and categorical.shape == (5, 26)
    assert int(categorical.max()) < 2**18


def _small(name, **data):
    return load_recipe(
        name, assignments={f"data.{key}": value for key, value in data.items()}
    )


def test_synthetic_criteo_is_generated_once_and_read_back(tmp_path):
    recipe = _small("criteo_sapp:quick", n_train=300, n_val=100)
    root = data_root(recipe, tmp_path)
    assert root == tmp_path / "data"
    assert ensure_synthetic_data(recipe, root)
    assert not ensure_synthetic_data(recipe, root)  # reused
    train, val = (
        build_dataset(recipe, "train", root),
        build_dataset(recipe, "val", root),
    )
    assert (len(train), len(val)) == (300, 100) == (n_train_samples(recipe), 100)
    (dense, categorical), label = train[0]
    assert dense.shape == (13,) and categorical.shape == (26,)
    assert json.loads((root / SYNTHETIC_RECORD).read_text())["n_train"] == 300
    assert sorted(p.name for p in root.iterdir()) == [SYNTHETIC_RECORD, "train", "val"]
    other = _small("criteo_sapp:quick", n_train=400, n_val=100)
    with pytest.raises(ValueError, match="made with other settings"):
        check_data_root(other, root)


def test_synthetic_images_are_read_with_the_recipe_transforms(tmp_path):
    recipe = _small("imagenet_sapp:quick", train_per_class=2, val_per_class=1)
    root = tmp_path / "images"
    ensure_synthetic_data(recipe, root)
    train, val = (
        build_dataset(recipe, "train", root),
        build_dataset(recipe, "val", root),
    )
    assert (len(train), len(val)) == (20, 10)
    assert train[0][0].shape == val[0][0].shape == (3, 32, 32)


def test_real_data_need_a_path_and_fit_the_model(tmp_path):
    recipe = load_recipe("imagenet_sapp:quick")
    real = recipe.with_data(tmp_path / "imagenet")
    with pytest.raises(FileNotFoundError, match="`data.path`"):
        build_dataset(real, "val", data_root(real))
    generate_image_folder(tmp_path / "imagenet" / "train", n_classes=3)
    with pytest.raises(FileNotFoundError, match="`data.val`"):
        check_data_root(real, data_root(real))
    generate_image_folder(tmp_path / "imagenet" / "val", n_classes=3)
    with pytest.raises(ValueError, match="model.num_classes=3"):
        build_dataset(real, "val", data_root(real))
    real = real.updated({"model.num_classes": 3})
    assert len(build_dataset(real, "val", data_root(real))) == 24
    full = load_recipe("criteo_sapp")
    with pytest.raises(ValueError, match="`data.path` is required"):
        check_data_root(full, data_root(full))


def test_criteo_caches_must_have_the_models_buckets(tmp_path):
    recipe = _small("criteo_sapp:quick", n_train=50, n_val=20)
    ensure_synthetic_data(recipe, tmp_path / "c")
    real = recipe.with_data(tmp_path / "c").updated({"model.buckets": 999})
    with pytest.raises(ValueError, match="`model.buckets` must equal the hash buckets"):
        build_dataset(real, "train", data_root(real))


def test_mnist1d_is_generated_in_memory():
    recipe = load_recipe("mnist1d_sapp", assignments={"data.n_samples": 100})
    train, test = build_dataset(recipe, "train"), build_dataset(recipe, "val")
    assert (len(train), len(test), n_train_samples(recipe)) == (80, 20, 80)
    assert data_root(recipe) is None
