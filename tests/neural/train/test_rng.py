import random

import numpy as np
import pytest
import torch

from neural.train.rng import (
    get_rng_state,
    mix_seed,
    seed_everything,
    seeded_rng,
    set_rng_state,
)


def _draw():
    return (torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random())  # noqa: NPY002


def test_state_round_trip_through_weights_only_save(tmp_path):
    seed_everything(3)
    np.random.randn()  # noqa: NPY002  (leaves a cached gaussian in numpy's state)
    random.gauss(0, 1)
    state = get_rng_state()
    expected = _draw()
    torch.save(state, tmp_path / "rng.pt")
    seed_everything(99)
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert _draw() == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_state_loaded_onto_the_gpu_restores(tmp_path):
    # issue 20: a checkpoint read with map_location="cuda" holds the generator
    # states on the GPU; torch's generators and numpy take host tensors only.
    seed_everything(3)
    state = get_rng_state(cuda=True)
    expected = (_draw(), torch.rand(3, device="cuda").tolist())
    torch.save(state, tmp_path / "rng.pt")
    seed_everything(99)
    set_rng_state(
        torch.load(tmp_path / "rng.pt", map_location="cuda", weights_only=True)
    )
    assert (_draw(), torch.rand(3, device="cuda").tolist()) == expected


def test_seeded_rng_leaves_the_global_streams_untouched():
    seed_everything(1)
    expected = _draw()
    seed_everything(1)
    with seeded_rng(123):
        inside = _draw()
    assert _draw() == expected
    with seeded_rng(123):
        assert _draw() == inside
    with seeded_rng():  # no seed: only isolation
        _draw()


def test_mix_seed_is_a_hash_of_the_keys():
    assert mix_seed(1, 2, 3) == mix_seed(1, 2, 3)
    assert len({mix_seed(1, 0, 1), mix_seed(1, 1, 0), mix_seed(1, 0, 1, 0)}) == 3
    assert 0 <= mix_seed(2**40, 7) < 2**63
    with pytest.raises(ValueError, match="`keys`"):
        mix_seed(-1)
    with pytest.raises(ValueError, match="at least one"):
        mix_seed()
    with pytest.raises(ValueError, match="missing"):
        set_rng_state({"torch": torch.get_rng_state()})
