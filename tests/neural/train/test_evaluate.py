import itertools
import math

import pytest
import torch
from torch.utils.data import TensorDataset

from neural.train.evaluate import compute_loss, evaluate, roc_auc

from .conftest import NoisyData, make_model


def _brute_auc(scores, labels):
    pairs = [
        (1.0 if p > n else 0.5 if p == n else 0.0)
        for (p, lp), (n, ln) in itertools.product(
            zip(scores, labels, strict=True), repeat=2
        )
        if lp == 1 and ln == 0
    ]
    return sum(pairs) / len(pairs)


def test_auc_rank_formula_matches_pairwise_counting_with_ties():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (60,), generator=generator).float()  # many ties
    labels = torch.randint(0, 2, (60,), generator=generator)
    assert roc_auc(scores, labels) == pytest.approx(
        _brute_auc(scores.tolist(), labels.tolist()), abs=1e-12
    )
    assert roc_auc(torch.tensor([1.0, 2.0]), torch.tensor([1, 1])) is None
    with pytest.raises(ValueError, match="same length"):
        roc_auc(torch.zeros(3), torch.zeros(2))


def test_losses_and_their_shape_rules():
    logits = torch.randn(5, 3)
    target = torch.randint(0, 3, (5,))
    assert torch.equal(
        compute_loss("cross_entropy", logits, target),
        torch.nn.functional.cross_entropy(logits, target),
    )
    z, y = torch.randn(5, 1), torch.randint(0, 2, (5,))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], y.float())
    assert torch.equal(compute_loss("bce_with_logits", z, y), expected)
    assert torch.equal(compute_loss("bce_with_logits", z[:, 0], y.float()), expected)
    with pytest.raises(ValueError, match=r"\(5, 2\) and \(5,\)"):
        compute_loss("bce_with_logits", torch.randn(5, 2), y)
    with pytest.raises(TypeError, match="integer class indices"):
        compute_loss("cross_entropy", logits, target.float())
    with pytest.raises(ValueError, match=r"\(B, C, \.\.\.\)"):
        compute_loss("cross_entropy", logits, target[:4])
    with pytest.raises(ValueError, match="`loss` must be one of"):
        compute_loss("mse", logits, target)


def test_evaluate_cross_entropy_matches_a_direct_computation():
    model = make_model()
    data = NoisyData(50).base
    x, y = data.tensors
    metrics = evaluate(model, data, loss="cross_entropy", batch_size=16)
    with torch.no_grad():
        logits = model(x)
    assert metrics["n_samples"] == 50
    assert metrics["loss"] == pytest.approx(
        torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6
    )
    assert metrics["accuracy"] == pytest.approx((logits.argmax(1) == y).double().mean())
    assert "auc" not in metrics
    assert model.training  # mode restored


def test_evaluate_bce_reports_auc_and_leaves_training_streams_alone():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1)
    )
    x = torch.randn(40, 4)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    metrics = evaluate(model, TensorDataset(x, y), loss="bce_with_logits", batch_size=7)
    assert torch.equal(torch.rand(2), expected)
    model.eval()
    with torch.no_grad():
        z = model(x)[:, 0]
    assert metrics["auc"] == pytest.approx(roc_auc(z, y))
    assert metrics["accuracy"] == pytest.approx(((z > 0) == (y == 1)).double().mean())
    assert math.isfinite(metrics["loss"])


def test_evaluation_of_random_transforms_is_repeatable_with_workers():
    model, data = make_model(), NoisyData(40)
    first = evaluate(model, data, loss="cross_entropy", batch_size=8)
    again = evaluate(model, data, loss="cross_entropy", batch_size=8, num_workers=2)
    assert first == again
