import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import LogNorm
from torch import nn

import neural
from neural.pruning import plot_attention, plot_block_mask

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _pruner(method="magnitude", **options):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32))
    options = {
        "sparsity": 0.75,
        "block": 8,
        "total_steps": 4,
        "min_blocks": 8,
        "timeline": neural.schedules.one_shot(4, finetune=1.0),
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.0),
        **options,
    }
    return neural.prune(model, method, **options)


def _image(ax):
    return np.asarray(ax.images[0].get_array())


def test_block_mask_of_a_pruner_layer_by_name_or_index():
    # issue 8
    pruner = _pruner()
    mask = pruner.masks[1].mask.numpy()
    for layer in ("2", "2.weight", 1, -1):
        ax = plot_block_mask(pruner, layer=layer)
        np.testing.assert_array_equal(_image(ax), mask)
        assert ax.get_title() == f"2: {int(mask.sum())}/{mask.size} blocks kept"
        assert ax.get_xlabel() == "output block (of 4)"
        assert ax.get_ylabel() == "input block (of 8)"
    assert plot_block_mask(pruner).get_title().startswith("0: 16/64")


def test_block_mask_in_a_dense_phase_shows_every_block_kept():
    pruner = _pruner("acdc", timeline=None, total_steps=100)
    assert pruner.phase.kind == "dense"
    ax = plot_block_mask(pruner)
    assert _image(ax).all() and ax.get_title() == "0: 64/64 blocks kept"


def test_block_mask_from_a_parametrization_or_a_snapshot_on_a_given_axes():
    pruner = _pruner()
    masking = pruner.masks[0]
    _, ax = plt.subplots()
    assert plot_block_mask(masking, ax=ax) is ax
    np.testing.assert_array_equal(_image(ax), masking.mask.numpy())
    for snapshot in (
        masking.mask.clone(),
        masking.mask.numpy().astype(float),
        masking.mask.tolist(),
    ):
        ax = plot_block_mask(snapshot)
        np.testing.assert_array_equal(_image(ax), masking.mask.numpy())
        assert ax.get_title() == "16/64 blocks kept"


def test_block_mask_after_finalize_shows_the_final_support():
    pruner = _pruner("sapp")
    for _ in range(4):
        pruner.step()
    pruner.finalize()
    ax = plot_block_mask(pruner, layer="0")
    assert ax.get_title() == "0: 16/64 blocks kept"


def test_attention_of_an_sapp_pruner_on_a_symmetric_log_scale():
    pruner = _pruner("sapp", attention_bounds=None)
    with torch.no_grad():
        pruner.masks[0].logits[0, 0] = 2.0
        pruner.masks[0].logits[1, :] = -1.0
    attention = pruner.masks[0].attention().detach().numpy()
    ax = plot_attention(pruner, layer="0")
    np.testing.assert_allclose(_image(ax), attention)
    norm = ax.images[0].norm
    assert isinstance(norm, LogNorm)
    assert norm.vmin * norm.vmax == pytest.approx(1.0)
    assert norm.vmax == pytest.approx(max(attention.max(), 1 / attention.min()))
    assert len(ax.figure.axes) == 2  # the colour bar
    assert ax.get_title().startswith("0: attention, range [")


def test_attention_from_a_snapshot_with_a_fixed_limit_and_no_colorbar():
    snapshot = torch.tensor([[0.5, 1.0], [2.0, 0.5]])
    _, ax = plt.subplots()
    assert plot_attention(snapshot, ax=ax, limit=10, colorbar=False) is ax
    assert (ax.images[0].norm.vmin, ax.images[0].norm.vmax) == (0.1, 10.0)
    assert len(ax.figure.axes) == 1
    # all-ones attention (the logits' start) still gets a valid colour range
    plot_attention(np.ones((3, 3)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p: plot_block_mask(p, layer="4"), ValueError, r"one of the pruned"),
        (lambda p: plot_block_mask(p, layer=2), ValueError, r"\[-2, 1\]"),
        (lambda p: plot_block_mask(p, layer=1.0), TypeError, "`layer`"),
        (lambda p: plot_block_mask(p, layer=True), TypeError, "`layer`"),
        (lambda p: plot_block_mask(p.masks[0], layer=0), ValueError, "pruner only"),
        (lambda p: plot_block_mask(p.model), TypeError, "`source` must be"),
        (lambda p: plot_block_mask(torch.ones(4)), ValueError, "must be 2-D"),
        (lambda p: plot_attention(p), TypeError, "has no attention"),
        (lambda p: plot_attention("A"), TypeError, "`source` must be"),
        (lambda p: plot_attention(np.zeros((2, 2))), ValueError, "positive"),
        (lambda p: plot_attention(np.ones((2, 2)), limit=1.0), ValueError, "`limit`"),
    ],
)
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(_pruner())


def test_a_pruner_without_pruned_layers_has_nothing_to_plot():
    with pytest.warns(UserWarning, match="no layer is pruned"):
        pruner = _pruner(min_blocks=10_000)
    with pytest.raises(ValueError, match="prunes no layer"):
        plot_block_mask(pruner)
