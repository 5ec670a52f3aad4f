import pytest
import torch

from neural.models import resnet18, resnet50

# Parameter counts of torchvision's resnet18 / resnet50 (1000 classes).
TORCHVISION_PARAMETERS = {resnet18: 11_689_512, resnet50: 25_557_032}


@pytest.mark.parametrize("build", [resnet18, resnet50])
def test_parameter_count_and_keys_match_torchvision(build):
    model = build()
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_PARAMETERS[build]
    keys = list(model.state_dict())
    assert keys[:2] == ["conv1.weight", "bn1.weight"]
    assert "layer1.0.conv1.weight" in keys and "fc.bias" in keys
    assert "layer2.0.downsample.0.weight" in keys
    assert "layer2.0.downsample.1.running_var" in keys


def test_resnet50_bottleneck_stride_on_the_3x3_conv():
    model = resnet50()
    assert model.layer2[0].conv2.stride == (2, 2) and model.layer2[0].conv1.stride == (
        1,
        1,
    )


def test_small_input_variant_keeps_keys_and_resolution():
    small = resnet18(num_classes=10, width=8, small_input=True)
    assert set(small.state_dict()) == set(resnet18(num_classes=10).state_dict())
    assert small.conv1.kernel_size == (3, 3)
    out = small(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)


def test_state_dict_round_trip():
    a, b = resnet18(num_classes=5, width=4), resnet18(num_classes=5, width=4)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = torch.randn(1, 3, 64, 64)
    torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"num_classes": 0}, "num_classes"), ({"width": 0}, "width")]
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resnet18(**kwargs)
