"""benchmarks/pruning/swaps.py: swap columns from a support history (issue 15)."""

import pytest
import torch

from benchmarks.pruning.swaps import mean_swaps_by_entry, swap_cell_text, swap_columns
from neural.pruning.history import support_records


def test_swap_columns_of_a_scripted_two_layer_history():
    # Layer a keeps 2 of 4 blocks, layer b 1 of 2; three sparse entries.
    def masks(*bits):
        return [torch.tensor(b).bool() for b in bits]

    entries = [
        (10, masks([1, 1, 0, 0], [1, 0])),
        (20, masks([0, 1, 1, 0], [0, 1])),
        (30, masks([0, 1, 0, 1], [0, 1])),
    ]
    final = masks([0, 1, 0, 1], [0, 1])
    columns = swap_columns(support_records(["a", "b"], entries, final))
    assert columns["sparse_entries"] == 3
    assert columns["swaps_in_by_entry"] == [2, 1]  # blocks 2 and 1, then block 3
    assert columns["swaps_in_per_entry"] == pytest.approx(1.5)
    # a: {0, 1} vs {1, 3} -> 1/3; b: {0} vs {1} -> 0; mean over the layers.
    assert columns["first_jaccard_final"] == pytest.approx((1 / 3 + 0.0) / 2)
    (single,) = [(10, masks([1, 1, 0, 0], [1, 0]))]
    one = swap_columns(support_records(["a", "b"], [single], single[1]))
    assert one["swaps_in_per_entry"] is None and one["swaps_in_by_entry"] == []
    assert one["first_jaccard_final"] == 1.0


def test_mean_swaps_by_entry_averages_entry_by_entry():
    rows = [{"swaps_in_by_entry": [2, 4]}, {"swaps_in_by_entry": [4, 0]}, {}]
    assert mean_swaps_by_entry(rows) == [3.0, 2.0]
    assert mean_swaps_by_entry([{"swaps_in_by_entry": []}]) == []


def test_cell_text_reports_n_a_for_a_single_sparse_entry():
    one_shot = {"sparse_entries_mean": 1.0, "first_jaccard_final_mean": 1.0}
    assert swap_cell_text(one_shot) == "n/a (1; J 1.00)"
    assert swap_cell_text(None) == "-"
