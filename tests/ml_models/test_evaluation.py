"""Metrics with hand-computed values, the purged walk-forward driver, the signal backtest, and
the shuffled-label control."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from qts.backtest.config import BacktestConfig
from qts.core.errors import ValidationError
from qts.ml.datasets import purged_walk_forward
from qts.ml.evaluation import (
    backtest_positions,
    classification_metrics,
    directional_accuracy,
    icir,
    lightgbm_gain,
    pearson_corr,
    permutation_importance,
    spearman_corr,
    walk_forward_evaluate,
)
from qts.ml.evaluation.walk_forward import SampleSet
from qts.ml.features import TECHNICAL, FeatureDefinition
from qts.ml.features.leakcheck import require_no_lookahead
from qts.ml.models import create_model
from qts.ml.pipeline import require_causal_features

from .conftest import TINY


def test_plain_correlations_and_accuracy_by_hand() -> None:
    pred = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([0.01, 0.03, 0.02, 0.04])
    assert pearson_corr(pred, y) == pytest.approx(0.8)
    assert spearman_corr(pred, np.array([1.0, 30.0, 2.0, 400.0])) == pytest.approx(0.8)
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
    splits = list(purged_walk_forward(tab_samples.times, tab_samples.label_ends, 3, min_train=50))
    assert len(seen) == len(splits) == 3 and len(set(result.rows)) == len(result.rows)
    n_symbols = len(set(tab_samples.symbols))
    for fold, split in zip(seen, splits, strict=True):
        test_start = tab_samples.times[split.test].min()
        # Per fold, every training label ends before its test period starts.
        assert tab_samples.label_ends[split.train].max() < test_start
        assert pd.Timestamp(fold["test_start"]) == test_start
        assert pd.Timestamp(fold["train_label_end"]) < test_start
        # Every test day holds the whole universe (all 3 symbols trade every day here).
        _, per_day = np.unique(tab_samples.times[split.test].asi8, return_counts=True)
        assert (per_day == n_symbols).all() and fold["test"] == len(split.test)
        assert 0 < fold["ic_days"] <= len(per_day)
    assert {"ic", "rank_ic", "icir", "ic_t_stat", "ic_ci_low", "ic_ci_high", "pooled_corr",
            "directional_accuracy", "mse"} <= set(result.metrics)  # fmt: skip


def test_a_model_handed_its_test_labels_scores_ic_near_one(tab_samples: Any) -> None:
    """The positive control: with the label among the features the metric must see the skill
    (splits, normalisation and the daily IC pass it through)."""
    leaked = SampleSet(
        np.column_stack([tab_samples.X, tab_samples.returns]), tab_samples.returns,
        tab_samples.times, tab_samples.label_ends, tab_samples.symbols,
    )  # fmt: skip
    result = walk_forward_evaluate(
        leaked, lambda: create_model("lightgbm", epochs=60, lr=0.2, min_data_in_leaf=5), n_splits=3
    )
    assert result.metrics["ic"] > 0.9 and result.metrics["rank_ic"] > 0.9, result.metrics
    assert result.metrics["ic_ci_low"] > 0.85


def test_shuffled_labels_leave_no_out_of_sample_skill(tab_samples: Any, seq_samples: Any) -> None:
    """The negative control: with labels permuted inside each training fold nothing about
    returns is learnable, so the daily IC's 95% interval must hold 0 (a leak through
    features, normalisation or splits would push it out; a leaked label gives IC near 1)."""
    lgb = walk_forward_evaluate(tab_samples, lambda: create_model("lightgbm", **TINY["lightgbm"]),
                                n_splits=3, shuffle_labels=True, seed=1)  # fmt: skip
    assert lgb.metrics["ic_ci_low"] <= 0.0 <= lgb.metrics["ic_ci_high"], lgb.metrics
    assert abs(lgb.metrics["ic"]) < 0.15
    tcn = walk_forward_evaluate(seq_samples, lambda: create_model("tcn", **TINY["tcn"]),
                                n_splits=3, shuffle_labels=True, seed=1)  # fmt: skip
    assert tcn.metrics["ic_ci_low"] <= 0.0 <= tcn.metrics["ic_ci_high"], tcn.metrics
    assert lgb.metrics["n"] > 500 and tcn.metrics["n"] > 500


def test_a_feature_peeking_one_bar_ahead_is_caught_before_training(
    krx_bars: dict[str, pd.DataFrame],
) -> None:
    bars = krx_bars["005930"]

    def peek(b: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        return pd.DataFrame({"next_ret": b["close"].shift(-1) / b["close"] - 1}, index=b.index)

    def causal(b: pd.DataFrame, ctx: Any) -> pd.DataFrame:
        return pd.DataFrame({"last_ret": b["close"].pct_change()}, index=b.index)

    good, bad = FeatureDefinition("last_ret", causal), FeatureDefinition("next_ret", peek)
    with pytest.raises(ValidationError, match="next_ret") as info:
        require_no_lookahead([good, bad], bars)
    assert info.value.details == {"features": ["next_ret"]}
    require_no_lookahead([good, TECHNICAL], bars)  # clean features pass
    # The pipeline runs the same check on its features before it trains anything.
    require_causal_features(krx_bars, "basic", "1d")


def test_importance_ranks_an_informative_feature_first(tab_samples: Any) -> None:
    rng = np.random.default_rng(0)
    X = tab_samples.X[:600].copy()
    y = tab_samples.returns[:600]
    X[:, 2] = y * 50 + rng.normal(0, 0.5, len(y))  # a planted, noisy copy of the label
    names = [f"c{i}" for i in range(X.shape[1])]
    model = create_model("lightgbm", **TINY["lightgbm"]).fit(X, y, feature_names=names)
    assert next(iter(lightgbm_gain(model))) == "c2"
    assert next(iter(permutation_importance(model, X, y, names, repeats=2))) == "c2"
