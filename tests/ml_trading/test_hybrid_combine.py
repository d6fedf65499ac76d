"""`hybrid` combines a rule's targets and the model's direction as declared: vote, weighted,
filter and regime, bar by bar, on the 5 KRX samples after the model's window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from qts.ml.model_access import BacktestModelAccess
from qts.strategies.registry import create_strategy
from qts.strategies.signal_maps import hysteresis
from tests.ml_trading.conftest import engine_with

RULE = {"fast": 5, "slow": 20}


@pytest.fixture(scope="module")
def parts(krx5: dict[str, pd.DataFrame], tiny_model: tuple[Any, Any]) -> dict[str, Any]:
    engine = engine_with(tiny_model)
    scores = engine.score_history("tiny/1", krx5)
    rule = create_strategy("sma_cross", RULE).target_positions(krx5) * len(krx5)
    model = pd.DataFrame({s: hysteresis(scores[s].to_numpy(), 0.0, 0.0) for s in krx5},
                         index=scores.index)  # fmt: skip
    return {"engine": engine, "rule": rule, "model": model}


def _hybrid(krx5: dict[str, pd.DataFrame], engine: Any, **params: Any) -> pd.DataFrame:
    strategy = create_strategy("hybrid", {"model": "tiny/1", "rule_params": "fast=5;slow=20",
                                          **params})  # fmt: skip
    strategy.bind_models(BacktestModelAccess(engine))
    return strategy.target_positions(krx5) * len(krx5)


def test_vote_weighted_and_filter(krx5: dict[str, pd.DataFrame], parts: dict[str, Any]) -> None:
    rule, model = parts["rule"], parts["model"]
    vote = _hybrid(krx5, parts["engine"], combine="vote")
    assert np.array_equal(vote.to_numpy(), np.sign(np.sign(rule) + model).to_numpy())
    weighted = _hybrid(krx5, parts["engine"], combine="weighted", weight=0.25)
    np.testing.assert_allclose(weighted.to_numpy(), (0.25 * model + 0.75 * rule).to_numpy())
    filtered = _hybrid(krx5, parts["engine"], combine="filter")
    agree = np.sign(rule) == model
    assert np.array_equal(filtered.to_numpy(), rule.where(agree, 0.0).to_numpy())
    after = filtered.loc["2025-02-03":]
    assert (after > 0).any().any() and (rule.loc["2025-02-03":] > after).any().any()


def test_regime_trades_the_model_when_volatile(
    krx5: dict[str, pd.DataFrame], parts: dict[str, Any]
) -> None:
    regime = _hybrid(krx5, parts["engine"], combine="regime", vol_window=10, regime_window=60)
    close = krx5["005930"]["close"]
    vol = close.pct_change().rolling(10).std()
    volatile = (vol > vol.rolling(60, min_periods=1).median()).to_numpy()
    got = regime["005930"].to_numpy()
    assert np.array_equal(got[volatile], parts["model"]["005930"].to_numpy()[volatile])
    assert np.array_equal(got[~volatile], parts["rule"]["005930"].to_numpy()[~volatile])
    assert volatile.any() and (~volatile).any()
