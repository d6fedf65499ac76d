"""The inference engine and the score -> target mappings: references, the training-window
rule, batch = single-symbol = point-in-time scores, hysteresis, volatility targeting, top-k
with limited replacements, and a canary: a model that memorised its training labels shows no
edge after its window."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from qts.core.errors import NotFoundError, ValidationError
from qts.ml.inference import InferenceEngine, ModelRef, fit_in_memory, to_signals
from qts.ml.samples import build_samples
from qts.strategies.registry import create_strategy
from qts.strategies.signal_maps import hysteresis, topk_dropout, vol_target
from tests.ml_trading.conftest import TRAIN_END, engine_with


def test_model_references() -> None:
    assert ModelRef.parse("m@staging") == ModelRef("m", alias="staging")
    assert ModelRef.parse("qts-x-1d/12") == ModelRef("qts-x-1d", version="12")
    assert ModelRef.parse("m") == ModelRef("m", alias="production")
    assert str(ModelRef.parse("m/3")) == "m/3"
    for bad in ("", "m@", "@production", "m/latest"):
        with pytest.raises(ValidationError):
            ModelRef.parse(bad)
    with pytest.raises(NotFoundError, match="no registry"):
        InferenceEngine().load("m@production")


def test_scores_start_after_the_training_window_and_paths_agree(
    krx5: dict[str, pd.DataFrame], tiny_model: tuple[Any, Any]
) -> None:
    engine = engine_with(tiny_model)
    history = engine.score_history("tiny/1", krx5)
    end = pd.Timestamp(TRAIN_END, tz="UTC")
    assert history.loc[:end].isna().all().all()
    after = history.loc[history.index > end]
    assert len(after) == 91 and after.notna().all().all()
    # The newest bar through the online store, for all symbols and for one alone: the same.
    upto = {s: b.loc[:"2025-03-04"] for s, b in krx5.items()}
    batch = {p.symbol: p.score for p in engine_with(tiny_model).score_latest("tiny/1", upto)}
    single = engine_with(tiny_model).score_latest("tiny/1", {"005930": upto["005930"]})
    day = pd.Timestamp("2025-03-04", tz="UTC")
    assert batch == pytest.approx(history.loc[day].to_dict(), rel=1e-12)
    assert single[0].score == pytest.approx(batch["005930"], rel=1e-12)
    assert single[0].signal.expected_return == single[0].score and single[0].latency_ms > 0
    # Inside the window the online path gives nothing either.
    inside = {s: b.loc[:"2025-01-20"] for s, b in krx5.items()}
    assert engine_with(tiny_model).score_latest("tiny/1", inside) == []


def test_hysteresis_holds_between_exit_and_enter() -> None:
    s = np.array([0.0, 0.2, 0.05, -0.02, -0.2, np.nan, 0.15, -0.3, -0.05, 0.0])
    assert hysteresis(s, 0.1, 0.0).tolist() == [0, 1, 1, 0, 0, 0, 1, 0, 0, 0]
    assert hysteresis(s, 0.1, 0.0, allow_short=True).tolist() == [0, 1, 1, 0, -1, -1, 1, -1, -1, -1]
    labels = [sig.label for sig in to_signals(s, classifier=False, enter=0.1)]
    assert labels == ["hold", "buy", "buy", "hold", "sell", "sell", "buy", "sell", "sell", "sell"]


def test_vol_target_scales_to_the_target() -> None:
    rng = np.random.default_rng(1)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.02, 400))  # about 32% a year
    sized = vol_target(np.ones(400), close, 0.16, 60, 252)
    assert np.all(sized[:60] == 0)
    assert 0.35 < sized[200:].mean() < 0.65 and sized.max() <= 1.0


def test_topk_dropout_replaces_at_most_n_drop_names() -> None:
    scores = pd.DataFrame(
        [[5, 4, 3, 2, 1], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [np.nan, 2, 3, 4, 5]],
        columns=list("ABCDE"), dtype=float,
    )  # fmt: skip
    held = topk_dropout(scores, k=2, n_drop=1)
    assert [sorted(scores.columns[row > 0]) for row in held.to_numpy()] == [
        ["A", "B"], ["B", "E"], ["D", "E"], ["D", "E"],
    ]  # fmt: skip
    assert topk_dropout(scores, k=2, n_drop=2).iloc[1].tolist() == [0, 0, 0, 1, 1]
    assert topk_dropout(scores, k=2, n_drop=2, every=2).iloc[1].tolist() == [1, 1, 0, 0, 0]


def test_model_strategies_refuse_to_run_without_a_model() -> None:
    with pytest.raises(ValidationError, match="model=NAME@alias"):
        create_strategy("ml_topk", {})
    strategy = create_strategy("ml_signal", {"model": "m@production"})
    with pytest.raises(ValidationError, match="needs a model access"):
        strategy.target_positions(pd.DataFrame(
            {"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]},
            index=pd.DatetimeIndex(["2025-01-02"], tz="UTC"),
        ))  # fmt: skip
    with pytest.raises(ValidationError, match="rule-based target strategy"):
        create_strategy("hybrid", {"model": "m", "rule": "channel_breakout"})


MEMORISE = {"epochs": 400, "lr": 0.3, "num_leaves": 63, "min_data_in_leaf": 1,
            "feature_fraction": 1.0, "bagging_fraction": 1.0, "lambda_l2": 0.0,
            "patience": 100_000, "num_threads": 1}  # fmt: skip


def test_canary_a_memorising_model_has_no_edge_after_its_window(
    krx5: dict[str, pd.DataFrame],
) -> None:
    engine = InferenceEngine()
    loaded = engine.add("memo", "1", *fit_in_memory("lightgbm", krx5, end=TRAIN_END,
                                                     overrides=MEMORISE))  # fmt: skip
    every = engine.score_history(loaded, krx5, after_window=False)
    samples = build_samples(krx5, 1, 1, "1d", "basic")
    score = np.array([every.loc[t, s] for t, s in zip(samples.times, samples.symbols, strict=True)])
    inside = np.asarray(samples.times <= loaded.window_end) & np.isfinite(score)
    after = np.asarray(samples.times > loaded.window_end) & np.isfinite(score)
    fit_corr = np.corrcoef(score[inside], samples.returns[inside])[0, 1]
    oos_corr = np.corrcoef(score[after], samples.returns[after])[0, 1]
    assert fit_corr > 0.3, "the canary must have memorised its training labels"
    assert abs(oos_corr) * np.sqrt(after.sum()) < 2.0  # no edge: |t| < 2 on 445 samples
    # And the engine never hands out its in-window scores by default.
    assert engine.score_history(loaded, krx5).loc[: loaded.window_end].isna().all().all()


def test_a_replay_behind_the_online_store_still_predicts_point_in_time(
    krx5: dict[str, pd.DataFrame], tiny_model: tuple[Any, Any]
) -> None:
    """The online store holds each symbol's newest vector (2025-06-17 here, as the scheduled
    jobs keep it); a paper replay of March cannot read March from it, and falls back to the
    offline store: the predictions it hands on are the backtest's scores."""
    from qts.ml.model_access import LiveModelAccess

    engine = engine_with(tiny_model)
    assert len(engine.score_latest("tiny/1", krx5)) == 5  # fills the online store
    published: list[Any] = []
    upto = {s: b.loc[:"2025-03-04"] for s, b in krx5.items()}
    LiveModelAccess(engine, published.extend).scores("tiny/1", upto)
    expected = engine_with(tiny_model).score_history("tiny/1", krx5)
    day = pd.Timestamp("2025-03-04", tz="UTC")
    assert {p.symbol: p.score for p in published} == pytest.approx(expected.loc[day].to_dict())
    assert all(p.ts == day for p in published)
