"""Fine-tuning of deep models: the fit starts from the init's weights and target scaling
(with a learning rate of 1e-12 nothing moves, so the fitted weights are the init's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qts.core.errors import ValidationError
from qts.ml.fine_tune import _parse
from qts.ml.models import create_model


def test_lstm_warm_start_begins_from_the_init_weights() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 5, 3)), rng.normal(0, 0.01, 64)
    init = create_model("lstm", epochs=1, hidden_size=8, lookback=5, patience=0).fit(X, y)
    tuned = create_model("lstm", epochs=1, hidden_size=8, lookback=5, patience=0, lr=1e-12)
    tuned.warm_start = init
    tuned.fit(rng.normal(size=(64, 5, 3)), rng.normal(0.05, 0.02, 64))  # other data and scale
    for (name, a), b in zip(init.net.state_dict().items(), tuned.net.state_dict().values(),
                            strict=True):  # fmt: skip
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9, msg=name)
    assert (tuned.y_mean, tuned.y_std) == (init.y_mean, init.y_std)
    fresh = create_model("lstm", epochs=1, hidden_size=8, lookback=5, patience=0, lr=1e-12, seed=1)
    fresh.fit(X, y)
    pairs = zip(init.net.state_dict().values(), fresh.net.state_dict().values(), strict=True)
    gaps = [float((a - b).abs().max()) for a, b in pairs]
    assert max(gaps) > 1e-3  # without the warm start the weights are another network's


def test_references_are_parsed_and_checked() -> None:
    assert _parse("m@staging") == ("m", None, "staging")
    assert _parse("m/3") == ("m", "3", None)
    assert _parse("m") == ("m", None, "production")
    with pytest.raises(ValidationError, match="version must be a number"):
        _parse("m/x")
