import random

import numpy as np
import pytest
import torch

from neural.data.mnist1d import mnist1d_datasets

N = 1000


@pytest.fixture(scope="module")
def data():
    return mnist1d_datasets(N, seed=0)


def test_shapes_dtypes_and_classes(data):
    train, test = data
    (x, y), (x_test, y_test) = train.tensors, test.tensors
    assert x.shape == (800, 40) and x_test.shape == (200, 40)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert y.shape == (800,) and y_test.shape == (200,)
    assert sorted(torch.cat([y, y_test]).unique().tolist()) == list(range(10))
    assert torch.bincount(torch.cat([y, y_test])).tolist() == [N // 10] * 10
    # Standardized over train and test together.
    everything = torch.cat([x, x_test]).double()
    assert abs(everything.mean().item()) < 1e-5
    assert abs(everything.std(unbiased=False).item() - 1.0) < 1e-5
    assert train[0][0].shape == (40,)


def test_deterministic_and_seed_dependent(data):
    again, _ = mnist1d_datasets(N, seed=0)
    assert torch.equal(again.tensors[0], data[0].tensors[0])
    assert torch.equal(again.tensors[1], data[0].tensors[1])
    other, _ = mnist1d_datasets(N, seed=1)
    assert not torch.equal(other.tensors[0], data[0].tensors[0])


def test_global_rngs_untouched():
    np.random.seed(5)  # noqa: NPY002
    random.seed(5)
    expected = (np.random.rand(), random.random())  # noqa: NPY002
    np.random.seed(5)  # noqa: NPY002
    random.seed(5)
    mnist1d_datasets(100, seed=0)
    assert (np.random.rand(), random.random()) == expected  # noqa: NPY002


def test_options():
    train, test = mnist1d_datasets(
        100, train_split=0.5, channel_dim=True, overrides={"final_seq_length": 20}
    )
    assert train.tensors[0].shape == (50, 1, 20)
    assert test.tensors[0].shape == (50, 1, 20)
    plain, _ = mnist1d_datasets(100, seed=2)
    shuffled, _ = mnist1d_datasets(100, seed=2, shuffle_seq=True)
    assert shuffled.tensors[0].shape == plain.tensors[0].shape
    assert not torch.equal(shuffled.tensors[0], plain.tensors[0])


def test_never_downloads(monkeypatch, tmp_path):
    import mnist1d.data

    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(mnist1d.data.requests, "get", refuse)
    monkeypatch.chdir(tmp_path)
    mnist1d_datasets(100)
    assert list(tmp_path.iterdir()) == []


def test_nearest_centroid_beats_chance(data):
    train, test = data
    (x, y), (x_test, y_test) = train.tensors, test.tensors
    centroids = torch.stack([x[y == k].mean(0) for k in range(10)])
    accuracy = (torch.cdist(x_test, centroids).argmin(1) == y_test).float().mean()
    assert accuracy > 0.2  # chance is 0.1; about 0.32 in practice


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_samples": 15}, ValueError, "multiple of 10"),
        ({"n_samples": 0}, ValueError, "`n_samples`"),
        ({"n_samples": 10.0}, TypeError, "`n_samples`"),
        ({"train_split": 1.0}, ValueError, "`train_split`"),
        ({"n_samples": 10, "train_split": 0.05}, ValueError, "both sets non-empty"),
        ({"seed": -1}, ValueError, "`seed`"),
        ({"overrides": {"num_samples": 5}}, ValueError, "`overrides` keys"),
        ({"overrides": [1]}, TypeError, "`overrides`"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mnist1d_datasets(**kwargs)
