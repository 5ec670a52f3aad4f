import pytest
import torch

from neural._tile_scale import native_tile_scale, supports_native_tile_scale


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_tile_scale_matches_broadcasting_forward_and_backward(dtype):
    generator = torch.Generator().manual_seed(0)
    shape = (3, 4, 5, 2, 9)
    tiles = torch.randn(shape, generator=generator, dtype=dtype, requires_grad=True)
    values = torch.rand(3, 5, 9, generator=generator, dtype=dtype, requires_grad=True)
    grad = torch.randn(shape, generator=generator, dtype=dtype)
    ours = native_tile_scale(tiles, values)
    ours_grads = torch.autograd.grad(ours, (tiles, values), grad)
    reference = tiles * values[:, None, :, None, :]
    reference_grads = torch.autograd.grad(reference, (tiles, values), grad)
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(ours, reference, rtol=tol, atol=tol)
    for a, b in zip(ours_grads, reference_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_only_contiguous_float_cpu_tensors_take_the_loops():
    assert supports_native_tile_scale(torch.zeros(2, 3))
    assert not supports_native_tile_scale(torch.zeros(2, 3, dtype=torch.bfloat16))
    assert not supports_native_tile_scale(torch.zeros(3, 2).T)
