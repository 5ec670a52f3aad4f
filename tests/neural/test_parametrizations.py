import torch

from neural.blocks import BlockGrid
from neural.parametrizations import BlockAttention, BlockMask, BlockPowerProp


def test_mask_is_the_identity_until_masking():
    grid = BlockGrid((6, 4), 2)
    masking = BlockMask(grid)
    weight = torch.randn(6, 4)
    masking.mask[0, 0] = False
    assert masking(weight) is weight
    masking.masking = True
    out = masking(weight)
    assert out[:2, :2].eq(0).all() and torch.equal(out[2:], weight[2:])


def test_attention_scale_and_scores():
    grid = BlockGrid((6, 4), 2)
    attention = BlockAttention(grid, bounds=None)
    assert torch.equal(attention.attention(), torch.ones(grid.grid_shape))
    weight = torch.randn(6, 4)
    torch.testing.assert_close(attention(weight), weight)
    assert attention.scores(weight) is not attention.logits  # detached view


def test_powerprop_scale_is_block_norm_to_alpha_minus_one():
    grid = BlockGrid((6, 4), 2)
    powerprop = BlockPowerProp(grid, alpha=2.0)
    weight = torch.randn(6, 4, dtype=torch.float64)
    expected = weight * grid.expand(grid.block_norms(weight))
    torch.testing.assert_close(powerprop(weight), expected)
    torch.testing.assert_close(powerprop.scores(weight), grid.block_norms(weight) ** 2)


def test_state_dict_holds_mask_and_logits():
    grid = BlockGrid((6, 4), 2)
    assert set(BlockMask(grid).state_dict()) == {"mask"}
    assert set(BlockAttention(grid, None).state_dict()) == {"mask", "logits"}


def test_global_scores_are_the_log_attention_whatever_the_logits_offset():
    # issue 15: a constant added to a layer's logits changes nothing it computes,
    # so the scores compared across layers must not change either.
    grid = BlockGrid((8, 6), 2)
    attention = BlockAttention(grid, bounds=(0.9, 1.1))
    with torch.no_grad():
        attention.logits.normal_(generator=torch.Generator().manual_seed(0))
    scores = attention.global_scores(None)
    unclipped = grid.n_blocks * torch.softmax(attention.logits.reshape(-1), 0)
    torch.testing.assert_close(scores.reshape(-1), unclipped.log().detach())
    with torch.no_grad():
        attention.logits.add_(7.0)
    torch.testing.assert_close(attention.global_scores(None), scores)
    assert not scores.requires_grad


def test_magnitude_family_global_scores_are_its_scores():
    grid = BlockGrid((6, 4), 2)
    weight = torch.randn(6, 4)
    for masking in (BlockMask(grid), BlockPowerProp(grid, alpha=3.0)):
        assert torch.equal(masking.global_scores(weight), masking.scores(weight))
