"""Symbols on different calendars: a missing bar is no information, not a signal to sell.

A stock has no bars on weekends and exchange holidays while crypto trades every day; some US
data files carry a holiday placeholder row (2023-06-19 copying 2023-06-16) that others lack.
Both engines must hold every position across such gaps and never fill a symbol at a time where
it has no bar; a symbol's trade timing in a portfolio equals its timing when run alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.strategies import TargetStrategy, create_strategy
from tests.strategies.sample import load_sample, random_bars

SHARED = Path(
    os.environ.get("QTS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
US_DAILY = SHARED / "us_daily"
# market="us": a run trades one market, so the 7-day asset is priced as a US instrument here.
CONFIG = dict(market="us", cash=1_000_000.0, commission=0.001, sell_tax=0.0, slippage_bps=0.0)


class AlwaysLong(TargetStrategy):
    """Target 1 on every bar: a correct engine buys each symbol once and never sells."""

    name: ClassVar[str] = "always_long"

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return pd.Series(1.0, index=bars.index)


def _stock_and_crypto() -> dict[str, pd.DataFrame]:
    stock = load_sample("us_daily/AAPL.csv").loc["2023-01-01":"2023-12-31"]
    crypto = random_bars(n=365, seed=3, start="2023-01-01", freq="1D")  # every calendar day
    return {"AAPL": stock, "BTC/USDT": crypto}


def _with_placeholder(bars: pd.DataFrame, day: str, copy_of: str) -> pd.DataFrame:
    """`bars` plus a holiday row that repeats an earlier day, as in some US data files."""
    row = bars.loc[[pd.Timestamp(copy_of, tz="UTC")]]
    row.index = pd.DatetimeIndex([pd.Timestamp(day, tz="UTC")], name=bars.index.name)
    return pd.concat([bars, row]).sort_index()


def _fills(result) -> list[tuple]:  # type: ignore[no-untyped-def]
    f = result.fills
    return list(zip(f["ts"], f["symbol"], f["quantity"], f["price"].round(9), strict=True))


def _has_bar(data: dict[str, pd.DataFrame], symbol: str, ts: pd.Timestamp) -> bool:
    return ts in data[symbol].index


@pytest.mark.parametrize("engine", ["vectorized", "event"])
def test_stock_position_is_held_over_crypto_weekends(engine: str) -> None:
    data = _stock_and_crypto()
    result = run_backtest(AlwaysLong(), data, BacktestConfig(**CONFIG, engine=engine))
    fills = result.fills
    # One buy each, nothing sold: 105 weekend days of crypto-only bars changed nothing for AAPL.
    assert fills.groupby("symbol").size().to_dict() == {"AAPL": 1, "BTC/USDT": 1}
    assert (fills["quantity"] > 0).all()
    held = result.positions["AAPL"]
    first = held.ne(0).idxmax()
    assert (held.loc[first:] == held.loc[first]).all()
    weekend = held.index[held.index.dayofweek >= 5]
    assert len(weekend) == 105 and (held.loc[weekend[weekend > first]] > 0).all()


def test_both_engines_fill_identically_across_calendar_gaps() -> None:
    data = _stock_and_crypto()
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 15})
    fast = run_backtest(strategy, data, BacktestConfig(**CONFIG, engine="vectorized"))
    slow = run_backtest(strategy, data, BacktestConfig(**CONFIG, engine="event"))
    assert len(fast.fills) > 20
    assert _fills(fast) == _fills(slow)
    for ts, symbol in zip(fast.fills["ts"], fast.fills["symbol"], strict=True):
        assert _has_bar(data, symbol, ts), f"{symbol} filled at {ts} without a bar"


@pytest.mark.parametrize("engine", ["vectorized", "event"])
def test_trade_timing_in_a_mixed_calendar_portfolio_equals_each_symbol_alone(engine: str) -> None:
    data = _stock_and_crypto()
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 15})
    together = run_backtest(strategy, data, BacktestConfig(**CONFIG, engine=engine)).trades
    for symbol, bars in data.items():
        alone = run_backtest(strategy, {symbol: bars}, BacktestConfig(**CONFIG)).trades
        mine = together[together["symbol"] == symbol]
        assert len(alone) > 5
        assert list(mine["entry_time"]) == list(alone["entry_time"])
        assert list(mine["exit_time"]) == list(alone["exit_time"])


@pytest.mark.parametrize("fill_at", ["next_open", "close"])
@pytest.mark.parametrize("rebalance", ["on_change", "every_bar"])
def test_juneteenth_placeholder_in_one_file_does_not_sell_the_other(
    fill_at: str, rebalance: str
) -> None:
    aapl = load_sample("us_daily/AAPL.csv").loc["2023-05-01":"2023-07-31"]
    assert pd.Timestamp("2023-06-19", tz="UTC") not in aapl.index  # a market holiday
    other = _with_placeholder(aapl * 0.5, "2023-06-19", copy_of="2023-06-16")
    data = {"AAPL": aapl, "OTHER": other}
    config = dict(CONFIG, fill_at=fill_at, rebalance=rebalance)
    runs = [
        run_backtest(AlwaysLong(), data, BacktestConfig(**config, engine=engine))
        for engine in ("vectorized", "event")
    ]
    assert _fills(runs[0]) == _fills(runs[1])
    result = runs[0]
    aapl_fills = result.fills[result.fills["symbol"] == "AAPL"]
    assert pd.Timestamp("2023-06-19", tz="UTC") not in set(aapl_fills["ts"])
    if rebalance == "on_change":
        assert len(aapl_fills) == 1 and len(result.trades) == 2
        held = result.positions["AAPL"].loc["2023-06-15":"2023-06-22"]
        assert held.nunique() == 1 and held.iloc[0] > 0


@pytest.mark.skipif(not US_DAILY.is_dir(), reason=f"{US_DAILY} is absent (shared data)")
def test_us_portfolio_with_holiday_placeholders_trades_as_each_symbol_alone() -> None:
    """Real files: 15 of the 50 US files have a 2023-06-19 placeholder row (see SOURCES.md)."""
    from qts.market.files import load_bars_file

    names = ["AAPL", "MSFT", "JPM", "XOM", "GS", "NVDA"]  # JPM, XOM, GS have the placeholder
    data = {n: load_bars_file(US_DAILY / f"{n}.csv").loc["2022-01-01":] for n in names}
    strategy = create_strategy("sma_cross", {"fast": 10, "slow": 30})
    config = BacktestConfig(**CONFIG)
    together = run_backtest(strategy, data, config).trades
    for name, bars in data.items():
        alone = run_backtest(strategy, {name: bars}, config).trades
        mine = together[together["symbol"] == name]
        np.testing.assert_array_equal(mine["entry_time"], alone["entry_time"])
        closed = alone["status"] == "closed"  # an open trade is marked at the run's last bar
        np.testing.assert_array_equal(
            mine["exit_time"][closed.to_numpy()], alone["exit_time"][closed]
        )
