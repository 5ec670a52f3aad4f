import pytest
import torch

from neural.models import MLP, criteo_tower


def test_criteo_tower_shapes():
    model = criteo_tower()
    linears = [m for m in model.layers if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [
        (400, 390),
        (400, 400),
        (400, 400),
        (1, 400),
    ]
    assert model(torch.randn(3, 390)).shape == (3, 1)
    assert "layers.0.weight" in model.state_dict()


def test_bad_sizes():
    with pytest.raises(ValueError, match="at least 2"):
        MLP([4])
    with pytest.raises(ValueError, match="`sizes`"):
        MLP([4, 0])
