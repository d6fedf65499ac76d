"""Numpy history views for per-bar strategies: the same bars as `ctx.history`, without a copy,
and the same decisions whether a context offers them or converts its DataFrame."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.lookahead import check_lookahead
from qts.core.types import OrderIntent, Side
from qts.strategies import BarArrays, OrderStrategy, StrategyContext, history_arrays
from tests.strategies.sample import load_sample

CONFIG = BacktestConfig(cash=1e7, commission=0.001, sell_tax=0.0)


class Breakout(OrderStrategy):
    """Buy above the last 20 highs, sell below the last 10 lows, reading numpy views."""

    name: ClassVar[str] = "test_breakout_arrays"
    seen: list[tuple[int, bool]]

    def on_start(self, ctx: StrategyContext) -> None:
        self.seen = []

    def on_bar(self, ctx: StrategyContext) -> None:
        for symbol in ctx.symbols:
            bars = history_arrays(ctx, symbol, 21)
            frame = ctx.history(symbol, 21)
            same = bool(
                np.array_equal(bars.close, frame["close"].to_numpy())
                and np.array_equal(bars.ts, frame.index.tz_convert(None).to_numpy())
            )
            self.seen.append((len(bars), same))
            if len(bars) < 21:
                continue
            held = ctx.position(symbol)
            if not held and bars.close[-1] > bars.high[:-1].max():
                ctx.submit(OrderIntent(symbol, Side.BUY, 10.0))
            elif held and bars.close[-1] < bars.low[-11:-1].min():
                ctx.submit(OrderIntent(symbol, Side.SELL, held))


def test_views_equal_history_and_share_memory() -> None:
    bars = load_sample("kr_daily/005930.csv")
    strategy = Breakout()
    result = run_backtest(strategy, bars, CONFIG)
    assert len(result.trades) >= 3
    assert all(same for _, same in strategy.seen)
    assert [n for n, _ in strategy.seen[:22]] == [*range(1, 22), 21]
    view = BarArrays.of(bars).window(5, 25)
    assert len(view) == 20 and np.shares_memory(view.close, bars["close"].to_numpy())
    assert view.ts[0] == np.datetime64(bars.index[5].tz_convert(None))


def test_orders_hold_up_under_the_look_ahead_check() -> None:
    """The checker wraps the context and reruns on cut data: views see no future bar."""
    bars = load_sample("kr_daily/005930.csv")
    assert check_lookahead(Breakout(), {"ASSET": bars}) == []


class _HistoryOnly:
    """A context with only the protocol's `history` (as the paper runner's): the helper
    converts its DataFrame."""

    def __init__(self, bars: pd.DataFrame) -> None:
        self.bars = bars

    def history(self, symbol: str, lookback: int | None = None) -> pd.DataFrame:
        return self.bars.iloc[-(lookback or len(self.bars)) :]


def test_a_context_without_views_gets_its_history_converted() -> None:
    bars = load_sample("kr_daily/005930.csv").drop(columns="volume")
    converted = history_arrays(_HistoryOnly(bars), "ASSET", 5)  # type: ignore[arg-type]
    assert converted.close.tolist() == bars["close"].iloc[-5:].tolist()
    assert converted.volume.tolist() == [0.0] * 5  # no volume column: zeros
