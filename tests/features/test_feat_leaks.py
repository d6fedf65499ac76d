"""Look-ahead tests: every registered feature gives the same value at t on history truncated at
t, on real sample data; deliberately leaky features are caught by the same checker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.ml.features import (
    REGISTRY,
    FeatureContext,
    FeatureRegistry,
    check_no_lookahead,
    feature,
)

from .conftest import make_fundamentals, make_news

# The registry as users see it, plus a custom feature declared the way users do.
custom = FeatureRegistry()


@feature("gap_vs_range", registry=custom, window=10)
def gap_vs_range(bars: pd.DataFrame, ctx: FeatureContext, window: int) -> pd.Series:
    gap = bars["open"] / bars["close"].shift(1) - 1
    return gap / (bars["high"] - bars["low"]).rolling(window).mean() * bars["close"]


def all_features() -> list:
    return [*REGISTRY, *custom]


def context(bars: pd.DataFrame, timeframe: str) -> FeatureContext:
    return FeatureContext(
        symbol="X",
        timeframe=timeframe,
        fundamentals=make_fundamentals(bars),
        news=make_news(bars),
    )


def test_registry_holds_every_group() -> None:
    groups = {d.group for d in all_features()}
    assert {"technical", "time", "fundamental", "sentiment", "custom"} <= groups


@pytest.mark.parametrize("definition", all_features(), ids=lambda d: d.name)
def test_no_lookahead_on_korean_daily_bars(definition, kr_bars) -> None:
    for symbol, bars in kr_bars.items():
        ctx = context(bars, "1d")
        full = definition.compute(bars, ctx)
        assert full.notna().to_numpy().any(), f"{definition.name} is all NaN on {symbol}"
        violations = check_no_lookahead(definition, bars, ctx)
        assert violations == [], [str(v) for v in violations[:5]]


@pytest.mark.parametrize("definition", all_features(), ids=lambda d: d.name)
def test_no_lookahead_on_crypto_hourly_bars(definition, crypto_bars) -> None:
    for bars in crypto_bars.values():
        ctx = context(bars, "1h")
        violations = check_no_lookahead(definition, bars, ctx, cut_points=[100, 777, 1500, 1999])
        assert violations == [], [str(v) for v in violations[:5]]


def test_feature_using_next_bar_is_caught(kr_bars) -> None:
    leaky = FeatureRegistry()

    @feature("next_close_return", registry=leaky)
    def next_close_return(bars, ctx):
        return bars["close"].shift(-1) / bars["close"] - 1

    bars = kr_bars["005930"]
    violations = check_no_lookahead(leaky.get("next_close_return"), bars, FeatureContext())
    assert violations, "a shift(-1) feature must be reported"
    first = violations[0]
    assert first.column == "next_close_return"
    assert np.isfinite(first.full_value) and np.isnan(first.truncated_value)


def test_centered_window_feature_is_caught(kr_bars) -> None:
    leaky = FeatureRegistry()

    @feature("centered_mean", registry=leaky)
    def centered_mean(bars, ctx):
        return bars["close"].rolling(5, center=True).mean() / bars["close"]

    assert check_no_lookahead(leaky.get("centered_mean"), kr_bars["000660"], FeatureContext())


def test_fundamental_known_later_is_caught(kr_bars) -> None:
    """A feature that ignores `known_at` (uses the latest period whatever its date) leaks."""
    leaky = FeatureRegistry()

    @feature("latest_eps_ignoring_known_at", registry=leaky)
    def latest_eps(bars, ctx):
        eps = ctx.fundamentals[ctx.fundamentals["metric"] == "eps"]
        last = eps.sort_values("period_end")["value"].iloc[-1]
        return pd.Series(bars["close"].to_numpy() / last, index=bars.index)

    bars = kr_bars["005380"]
    ctx = context(bars, "1d")
    assert check_no_lookahead(leaky.get("latest_eps_ignoring_known_at"), bars, ctx)
    # The built-in fundamental feature reads the same data and passes.
    assert check_no_lookahead(REGISTRY.get("fundamental"), bars, ctx) == []
