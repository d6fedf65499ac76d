"""Incremental (history up to t) vs vectorized targets for every built-in strategy.

This is the look-ahead check: a strategy peeking at bar t+1 gives a different value at t when
that bar is missing from its input.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from qts.strategies import TargetStrategy, create_strategy, list_strategies
from qts.strategies.params import Param
from tests.strategies.sample import load_sample, random_bars

BUILTINS = [
    s["name"]
    for s in list_strategies()
    if s["name"] in {"sma_cross", "ts_momentum", "rsi_reversion", "bollinger_zscore"}
]
SETTINGS = {
    "sma_cross": {"fast": 5, "slow": 20},
    "ts_momentum": {"lookback": 20, "threshold": 0.01},
    "rsi_reversion": {"period": 10, "lower": 35, "upper": 65},
    "bollinger_zscore": {"period": 15, "entry_z": 1.5, "exit_z": 0.25},
}


def _incremental_matches(strategy: TargetStrategy, bars: pd.DataFrame, step: int) -> int:
    full = strategy.target_positions(bars)["ASSET"].to_numpy()
    checked = 0
    for t in range(1, len(bars), step):
        at_t = strategy.targets_at(bars.iloc[: t + 1])["ASSET"]
        assert at_t == full[t], f"{strategy!r}: bar {t} incremental {at_t} != vectorized {full[t]}"
        checked += 1
    return checked


def test_all_four_builtins_are_registered() -> None:
    assert sorted(BUILTINS) == ["bollinger_zscore", "rsi_reversion", "sma_cross", "ts_momentum"]


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("allow_short", [False, True])
def test_incremental_equals_vectorized_on_real_daily(name: str, allow_short: bool) -> None:
    bars = load_sample("kr_daily/005930.csv")
    strategy = create_strategy(name, {**SETTINGS[name], "allow_short": allow_short})
    full = strategy.target_positions(bars)["ASSET"]
    assert full.abs().sum() > 0, "the strategy never trades on this data: the test would be empty"
    if allow_short and name != "ts_momentum":
        assert (full < 0).any()
    assert _incremental_matches(strategy, bars, step=1) == len(bars) - 1


@pytest.mark.parametrize("name", BUILTINS)
def test_incremental_equals_vectorized_on_real_hourly_crypto(name: str) -> None:
    bars = load_sample("crypto_1h/BTC_USDT.csv", rows=1200)
    strategy = create_strategy(name, {**SETTINGS[name], "allow_short": True})
    assert _incremental_matches(strategy, bars, step=7) > 150


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_equals_vectorized_on_random_data(name: str, seed: int) -> None:
    bars = random_bars(500, seed=seed, vol=0.02)
    strategy = create_strategy(name, {**SETTINGS[name], "allow_short": True})
    assert strategy.target_positions(bars)["ASSET"].abs().sum() > 0
    _incremental_matches(strategy, bars, step=3)


class PeekingStrategy(TargetStrategy):
    """Deliberately cheats: goes long when tomorrow's close is higher."""

    name: ClassVar[str] = "peeking_test_only"
    params: ClassVar[tuple[Param, ...]] = ()

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return (bars["close"].shift(-1) > bars["close"]).astype(float)


def test_the_check_catches_look_ahead() -> None:
    bars = random_bars(100, seed=3)
    with pytest.raises(AssertionError, match="incremental"):
        _incremental_matches(PeekingStrategy(), bars, step=1)


def test_multi_symbol_targets_split_equity_equally() -> None:
    a, b = random_bars(300, seed=4), random_bars(300, seed=5)
    strategy = create_strategy("ts_momentum", {"lookback": 10})
    frame = strategy.target_positions({"A": a, "B": b})
    assert list(frame.columns) == ["A", "B"]
    assert set(np.unique(frame.to_numpy())) <= {0.0, 0.5}
    assert frame["A"].equals(strategy.target_positions(a)["ASSET"] * 0.5)


@pytest.mark.parametrize("name", BUILTINS)
def test_public_lookahead_check_passes_every_builtin(name: str) -> None:
    from qts.backtest.lookahead import check_lookahead

    bars = random_bars(400, seed=9, vol=0.02)
    strategy = create_strategy(name, {**SETTINGS[name], "allow_short": True})
    assert check_lookahead(strategy, bars, cut_points=range(30, 400, 37)) == []
    assert check_lookahead(PeekingStrategy(), bars, cut_points=range(30, 400, 37))
