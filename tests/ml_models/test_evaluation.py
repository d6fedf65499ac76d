"""Metrics with hand-computed values, the purged walk-forward driver, the signal backtest, and
the shuffled-label control."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from qts.backtest.config import BacktestConfig
from qts.ml.evaluation import (
    backtest_positions,
    classification_metrics,
    directional_accuracy,
    icir,
    information_coefficient,
    lightgbm_gain,
    permutation_importance,
    rank_ic,
    walk_forward_evaluate,
)
from qts.ml.models import create_model

from .conftest import TINY


def test_regression_metrics_by_hand() -> None:
    pred = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([0.01, 0.03, 0.02, 0.04])
    assert information_coefficient(pred, y) == pytest.approx(0.8)
    assert rank_ic(pred, np.array([1.0, 30.0, 2.0, 400.0])) == pytest.approx(0.8)
    assert directional_accuracy(
        np.array([1, -1, 1, 1.0]), np.array([0.1, 0.2, -0.1, 0.0])
    ) == pytest.approx(1 / 3)
    assert icir(np.array([0.1, 0.3])) == pytest.approx(0.2 / np.std([0.1, 0.3], ddof=1))


def test_classification_metrics_by_hand() -> None:
    truth = np.array([-1, -1, 0, 1, 1, 1])
    pred = np.array([-1, 0, 0, 1, 1, -1])
    m = classification_metrics(truth, pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert m["precision_sell"] == pytest.approx(0.5) and m["recall_sell"] == pytest.approx(0.5)
    assert m["precision_buy"] == pytest.approx(1.0) and m["recall_buy"] == pytest.approx(2 / 3)
    assert m["f1_buy"] == pytest.approx(0.8)


def test_buy_and_hold_backtest_is_the_price_path_less_costs(
    krx_bars: dict[str, pd.DataFrame],
) -> None:
    bars = {"005930": krx_bars["005930"]}
    index = bars["005930"].index[100:200]
    targets = pd.DataFrame(1.0, index=index, columns=["005930"])
    costs = BacktestConfig(
        cash=1_000_000, commission=0.001, sell_tax=0.0, slippage_bps=0.0, fractional=True
    )
    out = backtest_positions(bars, targets, costs, start=index[0], end=index[-1])
    b = bars["005930"].loc[index]
    # Decided at the first close, bought at the second bar's open with all the cash (the fee
    # included: quantity = cash / (open x 1.001)), held to the last close.
    expected = b["close"].iloc[-1] / (b["open"].iloc[1] * (1 + 0.001)) - 1
    assert out["total_return"] == pytest.approx(expected, rel=1e-9)
    assert out["fills"] == 1
    assert out["fees"] == pytest.approx(1_000_000 * 0.001 / 1.001, rel=1e-9)
    flat = backtest_positions(bars, targets * 0, costs, start=index[0], end=index[-1])
    assert flat["total_return"] == 0.0


def test_walk_forward_never_trains_on_test_labels(tab_samples: Any) -> None:
    seen: list[dict[str, Any]] = []
    result = walk_forward_evaluate(tab_samples, lambda: create_model("lightgbm", **TINY["lightgbm"]),
                                   n_splits=3, on_fold=lambda k, f: seen.append(f))  # fmt: skip
    assert len(seen) == 3 and len(set(result.rows)) == len(result.rows)
    for fold in seen:
        assert pd.Timestamp(fold["test_start"]) <= pd.Timestamp(fold["test_end"])
    # Every test row lies after every training row's label end of its fold (purging).
    first_test = tab_samples.times[result.rows].min()
    assert first_test > tab_samples.times.min()
    assert {"ic", "rank_ic", "icir", "directional_accuracy", "mse"} <= set(result.metrics)


def test_shuffled_labels_leave_no_out_of_sample_skill(tab_samples: Any, seq_samples: Any) -> None:
    """The control: with labels permuted inside each training fold nothing about returns is
    learnable, so any clear OOS IC would mean leakage through features, normalisation or
    splits. About 550-600 OOS samples give IC a standard error near 1/sqrt(n) ~ 0.04; the bound
    0.15 sits at well over 3 standard errors, loose enough not to flake, tight enough to catch
    a leak (a leaked label gives IC near 1)."""
    lgb = walk_forward_evaluate(tab_samples, lambda: create_model("lightgbm", **TINY["lightgbm"]),
                                n_splits=3, shuffle_labels=True, seed=1)  # fmt: skip
    assert abs(lgb.metrics["ic"]) < 0.15, lgb.metrics
    tcn = walk_forward_evaluate(seq_samples, lambda: create_model("tcn", **TINY["tcn"]),
                                n_splits=3, shuffle_labels=True, seed=1)  # fmt: skip
    assert abs(tcn.metrics["ic"]) < 0.15, tcn.metrics
    assert lgb.metrics["n"] > 500 and tcn.metrics["n"] > 500


def test_importance_ranks_an_informative_feature_first(tab_samples: Any) -> None:
    rng = np.random.default_rng(0)
    X = tab_samples.X[:600].copy()
    y = tab_samples.returns[:600]
    X[:, 2] = y * 50 + rng.normal(0, 0.5, len(y))  # a planted, noisy copy of the label
    names = [f"c{i}" for i in range(X.shape[1])]
    model = create_model("lightgbm", **TINY["lightgbm"]).fit(X, y, feature_names=names)
    assert next(iter(lightgbm_gain(model))) == "c2"
    assert next(iter(permutation_importance(model, X, y, names, repeats=2))) == "c2"
