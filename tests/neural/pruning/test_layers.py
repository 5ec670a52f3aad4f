import pytest
import torch
from torch import nn

import neural
from neural.pruning import edge_layers

from .conftest import build, make_cnn, make_mlp


def _names(pruner):
    return [spec.name for spec in pruner.layers]


def test_small_layers_are_skipped_and_reported():
    _, _, pruner = build("magnitude", min_blocks=45)
    assert _names(pruner) == ["0"]
    reasons = {s.name: s.reason for s in pruner.skipped}
    assert reasons == {
        "2": "40 blocks < min_blocks=45",
        "4": "smaller than the 4x4 block",
    }
    rows = {r.name: r.status for r in pruner.report().layers}
    assert rows["2"] == "dense: 40 blocks < min_blocks=45"


def test_ignore_by_regex_and_edge_layers():
    _, _, pruner = build("magnitude", ignore=[r"0|4"])
    assert _names(pruner) == ["2"]
    assert edge_layers(make_cnn()) == ["0", "6"]
    _, _, pruner = build("magnitude", ignore=edge_layers(make_mlp()))
    assert _names(pruner) == ["2"]


def test_explicit_layers_with_per_layer_overrides():
    _, _, pruner = build(
        "acdc",
        layers=["2.weight", {"tensor_fqn": "0", "sparsity": 0.5, "block": (2, 8)}],
    )
    assert _names(pruner) == ["2", "0"]
    assert pruner.layers[1].grid.block_shape == (2, 8)
    assert pruner.layers[1].sparsity == 0.5


def test_global_scope_refuses_per_layer_sparsity():
    with pytest.raises(ValueError, match="scope='layer'"):
        build("acdc", scope="global", layers=[{"tensor_fqn": "0", "sparsity": 0.5}])


def test_nothing_to_prune_warns():
    with pytest.warns(UserWarning, match="no layer is pruned"):
        build("magnitude", min_blocks=10_000)


def test_pruning_twice_is_refused():
    model, _, _ = build("magnitude")
    with pytest.raises(ValueError, match="already has a parametrization"):
        build("magnitude", model=model)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sparsity": 1.0}, ValueError, r"`sparsity` must be in \[0, 1\)"),
        ({"sparsity": -0.1}, ValueError, "`sparsity`"),
        ({"block": 0}, ValueError, "`block` sizes must be >= 1"),
        ({"total_steps": 0}, ValueError, "`total_steps` must be"),
        ({"min_blocks": 0}, ValueError, "`min_blocks`"),
        ({"scope": "model"}, ValueError, "`scope` must be one of"),
        ({"reenter": "random"}, ValueError, "`reenter`"),
        ({"update_every": 0}, ValueError, "`update_every`"),
        ({"timeline": "cosine"}, ValueError, "`timeline` must be one of"),
        ({"timeline": 3}, TypeError, "`timeline` must be a Timeline"),
        ({"layers": ["1"]}, TypeError, "`layers` names '1', a ReLU"),
        ({"layers": ["9"]}, ValueError, "not in the model"),
        ({"layers": [{"name": "0"}]}, ValueError, "'tensor_fqn'"),
        ({"layers": [3]}, TypeError, "`layers` entries"),
        ({"layers": ["0"], "block": 64}, ValueError, "`block` 64x64 must fit"),
        ({"optimizer": "adam"}, TypeError, "`optimizer`"),
    ],
)
def test_bad_input(kwargs, error, match):
    model = make_mlp()
    options = {
        "sparsity": 0.5,
        "block": 4,
        "total_steps": 10,
        "min_blocks": 8,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        neural.prune(model, "magnitude", **options)
    # Nothing was half-done: no parametrization was left behind.
    assert not any(hasattr(m, "parametrizations") for m in model.modules())


def test_timeline_length_must_match_total_steps():
    with pytest.raises(ValueError, match="must match total_steps=10"):
        build("acdc", total_steps=10, timeline=neural.schedules.acdc_imagenet(20))


def test_conv_transpose_is_not_prunable_by_name():
    model = nn.Sequential(nn.ConvTranspose2d(4, 4, 3))
    with pytest.raises(TypeError, match="ConvTranspose2d"):
        neural.prune(model, "acdc", sparsity=0.5, block=1, total_steps=4, layers=["0"])
    assert torch.is_tensor(model[0].weight)
