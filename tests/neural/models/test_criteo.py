import pytest
import torch
from torch import nn

import neural
from neural.models.criteo import CriteoDNN

BUCKETS = [50] * 20 + [2, 3, 5, 7, 11, 13]


def inputs(batch=8, seed=0, buckets=BUCKETS):
    generator = torch.Generator().manual_seed(seed)
    dense = torch.randn(batch, 13, generator=generator)
    categorical = torch.stack(
        [torch.randint(0, b, (batch,), generator=generator) for b in buckets], dim=1
    )
    return dense, categorical


def test_shapes_and_layers():
    torch.manual_seed(0)
    model = CriteoDNN(buckets=BUCKETS)
    first = model.tower.layers[0]
    assert isinstance(first, nn.Linear)
    assert (first.in_features, first.out_features) == (390, 400)
    assert model.get_submodule("tower.layers.0") is first
    widths = [m.out_features for m in model.tower.layers if isinstance(m, nn.Linear)]
    assert widths == [400, 400, 400, 1]
    assert [e.num_embeddings for e in model.embeddings] == BUCKETS
    assert {e.embedding_dim for e in model.embeddings} == {10}
    assert model.numeric_weight.shape == model.numeric_bias.shape == (13, 10)
    dense, categorical = inputs()
    assert model(dense, categorical).shape == (8,)
    assert model(dense, categorical.int()).shape == (8,)
    assert "_bucket_counts" not in model.state_dict()


def test_feature_owns_its_ten_columns():
    torch.manual_seed(0)
    model = CriteoDNN(buckets=BUCKETS, hidden=(16,))
    dense, categorical = inputs()
    base = model.embed(dense, categorical)
    assert base.shape == (8, 390)
    changed = dense.clone()
    changed[:, 2] += 1.0  # numeric feature 2 -> columns 20..29
    moved = (model.embed(changed, categorical) != base).any(dim=0)
    assert moved.nonzero().flatten().tolist() == list(range(20, 30))
    other = categorical.clone()
    other[:, 0] = (other[:, 0] + 1) % BUCKETS[0]  # C1 is feature 13
    moved = (model.embed(dense, other) != base).any(dim=0)
    assert moved.nonzero().flatten().tolist() == list(range(130, 140))
    expected = dense[:, 2:3] * model.numeric_weight[2] + model.numeric_bias[2]
    torch.testing.assert_close(base[:, 20:30], expected)


def test_custom_sizes():
    model = CriteoDNN(buckets=7, embedding_dim=4, hidden=(12, 6))
    assert model.tower.layers[0].in_features == 39 * 4
    dense, categorical = inputs(3, buckets=[7] * 26)
    assert model(dense, categorical).shape == (3,)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"buckets": 1}, ValueError, "`buckets`"),
        ({"buckets": [5] * 3}, ValueError, "26 counts"),
        ({"embedding_dim": 0}, ValueError, "`embedding_dim`"),
        ({"hidden": ()}, ValueError, "`hidden`"),
        ({"hidden": (0,)}, ValueError, "`sizes`"),
    ],
)
def test_bad_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        CriteoDNN(**{"buckets": BUCKETS, **kwargs})


def test_bad_inputs():
    model = CriteoDNN(buckets=BUCKETS, hidden=(8,))
    dense, categorical = inputs()
    with pytest.raises(TypeError, match="`dense`"):
        model(dense.double(), categorical)
    with pytest.raises(TypeError, match="`dense`"):
        model(dense.numpy(), categorical)
    with pytest.raises(TypeError, match="`categorical`"):
        model(dense, categorical.float())
    with pytest.raises(ValueError, match=r"`dense` must have shape \(batch, 13\)"):
        model(dense[:, :12], categorical)
    with pytest.raises(ValueError, match=r"`categorical` must have shape \(8, 26\)"):
        model(dense, categorical[:4])
    bad = categorical.clone()
    bad[3, 20] = 3  # column 20 has 2 buckets
    with pytest.raises(ValueError, match=r"column 20 .* \[0, 2\); got 3"):
        model(dense, bad)
    bad[3, 20] = -1
    with pytest.raises(ValueError, match="got -1"):
        model(dense, bad)


def test_prune_first_dense_layer():
    torch.manual_seed(0)
    model = CriteoDNN(buckets=BUCKETS)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    pruner = neural.prune(
        model,
        "sapp",
        sparsity=0.9,
        block=10,
        total_steps=10,
        layers=["tower.layers.0"],
        optimizer=optimizer,
    )
    dense, categorical = inputs(64)
    target = torch.randint(0, 2, (64,)).float()
    for _ in range(10):
        optimizer.zero_grad()
        logits = model(dense, categorical)
        nn.functional.binary_cross_entropy_with_logits(logits, target).backward()
        optimizer.step()
        pruner.step()
    pruner.finalize()
    weight = model.tower.layers[0].weight.detach()
    blocks = weight.reshape(40, 10, 39, 10).abs().sum(dim=(1, 3)) > 0
    assert blocks.sum() == 156  # 10% of the 40 x 39 blocks
    (layer,) = pruner.report().layers
    assert layer.name == "tower.layers.0" and layer.kept_blocks == 156
    assert model(dense, categorical).shape == (64,)
