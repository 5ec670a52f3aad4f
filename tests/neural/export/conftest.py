import pytest
import torch
from torch import nn

import neural


@pytest.fixture
def pruned_mlp():
    """A finalized MLP whose 64x64 and 64x32 layers are pruned 75% in 8x8 blocks."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32)
    )
    pruner = neural.prune(
        model, "magnitude", sparsity=0.75, block=8, total_steps=1, min_blocks=16
    )
    pruner.step()
    return pruner.finalize().eval()


def _block_sparse_conv(c_in, c_out, kernel, block, keep=0.3, **conv_options):
    """A Conv2d whose C_out x (kH kW C_in) matrix has zero (b_out, b_in) tiles."""
    conv = nn.Conv2d(c_in, c_out, kernel, **conv_options)
    matrix = conv.weight.detach().permute(0, 2, 3, 1).reshape(c_out, -1)
    b_out, b_in = block
    mask = torch.rand(c_out // b_out, matrix.shape[1] // b_in) < keep
    mask = mask.repeat_interleave(b_out, 0).repeat_interleave(b_in, 1)
    with torch.no_grad():
        conv.weight.copy_(
            (matrix * mask).reshape(c_out, kernel, kernel, c_in).permute(0, 3, 1, 2)
        )
    return conv.eval()


@pytest.fixture
def make_sparse_conv():
    torch.manual_seed(1)
    return _block_sparse_conv
