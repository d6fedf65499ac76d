"""Target steppers (the paper/live runner's O(1) decision step) against the vectorized targets:
every built-in, every bar, exactly equal, over long real and random series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib

from qts.core.errors import ValidationError
from qts.strategies import create_strategy
from qts.strategies.base import cross_above
from qts.strategies.incremental import CrossAbove, IndicatorStream
from tests.strategies.sample import load_sample, random_bars

CASES = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("sma_cross", {"fast": 3, "slow": 8, "allow_short": True}),
    ("ts_momentum", {"lookback": 10, "threshold": 0.01, "allow_short": True}),
    ("ts_momentum", {}),
    ("rsi_reversion", {}),
    ("rsi_reversion", {"period": 5, "allow_short": True}),
    ("bollinger_zscore", {}),
    ("bollinger_zscore", {"period": 10, "entry_z": 1.5, "exit_z": 0.5, "allow_short": True}),
]


def _stepped(strategy, bars: pd.DataFrame) -> np.ndarray:  # type: ignore[no-untyped-def]
    stepper = strategy.target_stepper()
    assert stepper is not None
    return np.array([stepper.step(row) for row in bars.itertuples(index=False, name=None)])


@pytest.mark.parametrize(("name", "params"), CASES)
def test_stepper_equals_vectorized_targets_on_all_btc_hours(name: str, params: dict) -> None:
    bars = load_sample("crypto_1h/BTC_USDT.csv")
    assert len(bars) > 12_000
    strategy = create_strategy(name, params)
    vectorized = strategy.symbol_targets(bars).to_numpy()
    assert np.count_nonzero(vectorized) > 100, "the strategy must trade for this to mean much"
    np.testing.assert_array_equal(_stepped(strategy, bars), vectorized)


@pytest.mark.parametrize(("name", "params"), CASES[::2])
def test_stepper_equals_vectorized_on_a_long_random_walk_with_leading_nans(
    name: str, params: dict
) -> None:
    bars = random_bars(60_000, seed=3, vol=0.02)
    bars.iloc[:4, bars.columns.get_loc("close")] = np.nan  # the series starts at bar 4
    strategy = create_strategy(name, params)
    np.testing.assert_array_equal(_stepped(strategy, bars), strategy.symbol_targets(bars))


@pytest.mark.parametrize(
    ("function", "params"),
    [
        ("SMA", {"timeperiod": 30}),
        ("RSI", {"timeperiod": 14}),
        ("ROCP", {"timeperiod": 60}),
        ("BBANDS", {"timeperiod": 20, "nbdevup": 1.0, "nbdevdn": 1.0, "matype": 0}),
    ],
)
def test_indicator_stream_is_bit_identical_to_talib(function: str, params: dict) -> None:
    close = random_bars(20_000, seed=11)["close"].to_numpy()
    expected = getattr(talib, function)(close, **params)
    indicator = IndicatorStream(function, **params)
    got = np.array([indicator.update(float(c)) for c in close])
    if isinstance(expected, tuple | list):
        for column, series in enumerate(expected):
            np.testing.assert_array_equal(got[:, column], series)
    else:
        np.testing.assert_array_equal(got, expected)


def test_cross_above_one_bar_at_a_time_equals_the_array_form() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=500), rng.normal(size=500)
    a[[3, 40, 41]] = np.nan
    cross = CrossAbove()
    assert [cross.update(x, y) for x, y in zip(a, b, strict=True)] == list(cross_above(a, b))


def test_a_non_finite_close_after_the_start_is_refused_clearly() -> None:
    indicator = IndicatorStream("SMA", timeperiod=3)
    for value in (1.0, 2.0, 3.0, 4.0):
        indicator.update(value)
    with pytest.raises(ValidationError, match="non-finite close"):
        indicator.update(math.nan)
    assert indicator.update(5.0) == pytest.approx(4.0)  # the handle is left as it was
