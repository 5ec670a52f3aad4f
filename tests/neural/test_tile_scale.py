import numba
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


def test_starting_numba_threads_leaves_torch_threads_as_they_were(monkeypatch):
    # numba's OpenMP threading layer, started by the first kernel call, sets the
    # process's OpenMP threads, torch's included, to NUMBA_NUM_THREADS: a run
    # asked for one thread (OMP_NUM_THREADS=1) went on with two. Emulated here,
    # since the layer starts once per process.
    set_numba_threads = numba.set_num_threads

    def starting_the_layer(n):
        set_numba_threads(n)
        torch.set_num_threads(3)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setattr(numba, "set_num_threads", starting_the_layer)
    try:
        tiles, values = torch.randn(2, 3, 4, 2, 9), torch.rand(2, 4, 9)
        out = native_tile_scale(tiles, values)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(out, tiles * values[:, None, :, None, :])
