from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from qts.core.errors import ValidationError
from qts.ml.training.losses import focal_loss, get_loss, ic_loss


def test_ic_loss_is_minus_pearson_correlation() -> None:
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    # Deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5): covariance sum 4, variance sums 5.
    assert float(ic_loss(x, torch.tensor([1.0, 3.0, 2.0, 4.0]))) == pytest.approx(-0.8, abs=1e-6)
    assert float(ic_loss(x, x * 10 + 3)) == pytest.approx(-1.0, abs=1e-6)
    assert float(ic_loss(x, -x)) == pytest.approx(1.0, abs=1e-6)


def test_focal_loss_matches_hand_computed_value() -> None:
    logits = torch.log(torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    target = torch.tensor([2, 0])
    # Sample 1: p_t = 0.5 -> 0.25 * ln 2 = 0.1732868; sample 2: p_t = 0.6 -> 0.16 * -ln 0.6.
    expected = (0.25 * math.log(2) + 0.16 * -math.log(0.6)) / 2
    assert float(focal_loss(logits, target, gamma=2.0)) == pytest.approx(expected, rel=1e-5)
    # With per-class weights alpha the terms scale by the weight of their true class.
    alpha = torch.tensor([2.0, 1.0, 0.5])
    weighted = (0.5 * 0.25 * math.log(2) + 2.0 * 0.16 * -math.log(0.6)) / 2
    assert float(focal_loss(logits, target, 2.0, alpha)) == pytest.approx(weighted, rel=1e-5)


def test_focal_loss_with_gamma_zero_is_cross_entropy() -> None:
    logits = torch.tensor([[1.0, -0.5, 0.2], [0.1, 0.4, -2.0], [3.0, 0.0, 0.0]])
    target = torch.tensor([0, 1, 2])
    assert float(focal_loss(logits, target, gamma=0.0)) == pytest.approx(
        float(F.cross_entropy(logits, target)), rel=1e-6
    )


def test_unknown_loss_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="unknown loss"):
        get_loss("hinge")
