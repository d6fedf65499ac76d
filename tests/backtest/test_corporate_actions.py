"""Splits and dividends in both engines, by hand: fills at raw prices, shares follow the split,
dividends paid in cash (a short pays them), and the strategy sees adjusted bars."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.backtest.fills import OrderBook
from qts.core.types import Order, OrderIntent, OrderType, Side
from qts.market.corporate_actions import (
    CorporateAction,
    adjust_frame,
    adjustment_factors,
)
from qts.strategies.base import OrderStrategy, Param, TargetStrategy

DAYS = pd.date_range("2024-01-01", periods=6, freq="D", tz="UTC", name="ts")
# Raw quotes: a 2:1 split ex-dated day 2, a 1.0 dividend ex-dated day 3.
OPENS = [100.0, 100.0, 51.0, 49.0, 52.0, 55.0]
CLOSES = [100.0, 102.0, 50.0, 49.0, 55.0, 56.0]
ACTIONS = {
    "A": [
        CorporateAction("A", date(2024, 1, 3), "split", ratio=2.0),
        CorporateAction("A", date(2024, 1, 4), "dividend", amount=1.0),
    ]
}


def raw_bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open": OPENS,
            "high": np.maximum(OPENS, CLOSES),
            "low": np.minimum(OPENS, CLOSES),
            "close": CLOSES,
            "volume": [1000.0] * 6,
        },
        index=DAYS,
    )


class Seen(TargetStrategy):
    """Scripted targets; remembers the closes it was shown."""

    name: ClassVar[str] = "seen_test_only"
    params: ClassVar[tuple[Param, ...]] = ()
    script: ClassVar[list[float]] = []
    closes: ClassVar[list[float]] = []

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        Seen.closes = bars["close"].tolist()
        return pd.Series(self.script[: len(bars)], index=bars.index)


def config(engine: str, **extra: object) -> BacktestConfig:
    options: dict = {"market": "us", "cash": 10_000, "commission": 0.0, **extra}
    return BacktestConfig(engine=engine, **options)


def test_adjustment_factors_by_hand() -> None:
    factors = adjustment_factors(raw_bars(), ACTIONS["A"])
    # Before day 2: / 2 (split) and x (1 - 1/50) (dividend vs day 2's close); day 2: x 0.98.
    assert factors["split"].tolist() == [0.5, 0.5, 1, 1, 1, 1]
    assert factors["total"].tolist() == pytest.approx([0.49, 0.49, 0.98, 1, 1, 1])
    assert factors["volume"].tolist() == [2, 2, 1, 1, 1, 1]
    adjusted = adjust_frame(raw_bars(), ACTIONS["A"])
    assert adjusted["close"].tolist() == pytest.approx([49, 49.98, 49, 49, 55, 56])
    assert adjusted["volume"].tolist() == [2000, 2000, 1000, 1000, 1000, 1000]
    # Nothing to apply: the very same frame (no copy).
    bars = raw_bars()
    assert adjust_frame(bars, []) is bars


@pytest.mark.parametrize("engine", ["vectorized", "event"])
def test_long_through_split_and_dividend_by_hand(engine: str) -> None:
    Seen.script = [1, 1, 1, 1, 0, 0]
    result = run_backtest(Seen(), {"A": raw_bars()}, config(engine), actions=ACTIONS)
    assert Seen.closes == pytest.approx([49, 49.98, 49, 49, 55, 56])  # it saw adjusted bars
    # Bought day 1 at the raw open 100: 100 shares, no cash left.
    assert result.fills["quantity"].tolist() == [100, -200]
    assert result.fills["price"].tolist() == [100, 55]  # raw prices, where a broker fills
    assert result.positions["A"].tolist() == [0, 100, 200, 200, 200, 0]
    # Day 2: 200 x 50 (no jump from the split); day 3: 200 x 49 + 200 dividend.
    assert result.equity.tolist() == pytest.approx([10_000, 10_200, 10_000, 10_000, 11_200, 11_200])
    trade = result.trades.iloc[0]
    assert (trade["size"], trade["entry_price"], trade["exit_price"]) == (200, 50, 55)
    assert trade["pnl"] == pytest.approx(200 * 5 + 200)
    # The benchmark is total return (adjusted), not a 50% crash.
    assert result.benchmark.iloc[2] == pytest.approx(10_000 * 49 / 49.98 * 49.98 / 49)


@pytest.mark.parametrize("engine", ["vectorized", "event"])
def test_short_pays_the_dividend_by_hand(engine: str) -> None:
    Seen.script = [-0.5, -0.5, -0.5, -0.5, 0, 0]
    result = run_backtest(
        Seen(), {"A": raw_bars()}, config(engine, allow_short=True), actions=ACTIONS
    )
    assert result.fills["quantity"].tolist() == [-50, 100]
    # 10,000 + 50 x 100 = 15,000; pays 100 x 1.0 on day 3; buys 100 back at 55.
    assert result.positions["A"].tolist() == [0, -50, -100, -100, -100, 0]
    assert result.equity.iloc[3] == pytest.approx(14_900 - 100 * 49)
    assert result.metrics["final_equity"] == pytest.approx(14_900 - 5_500)
    assert result.trades.iloc[0]["pnl"] == pytest.approx(-100 * 5 - 100)


def test_without_actions_the_run_is_unchanged_and_raw_shows_the_crash() -> None:
    Seen.script = [1, 1, 1, 1, 0, 0]
    plain = run_backtest(Seen(), {"A": raw_bars()}, config("vectorized"))
    empty = run_backtest(Seen(), {"A": raw_bars()}, config("vectorized"), actions={"A": []})
    pd.testing.assert_series_equal(plain.equity, empty.equity)
    # Not telling the engine about the split: half the "value" vanishes on day 2.
    assert plain.equity.iloc[2] == pytest.approx(100 * 50)
    raw_view = run_backtest(
        Seen(), {"A": raw_bars()}, config("event", price_adjustment="raw"), actions=ACTIONS
    )
    assert Seen.closes == CLOSES  # raw mode: the strategy sees quotes; fills still follow
    assert raw_view.equity.iloc[-1] == pytest.approx(11_200)


def test_engines_agree_fill_for_fill_with_actions() -> None:
    Seen.script = [0.3, 0.9, -0.4, 0.5, 0.5, 0.0]
    options = {"commission": 0.001, "allow_short": True, "rebalance": "every_bar"}
    runs = [
        run_backtest(Seen(), {"A": raw_bars()}, config(e, **options), actions=ACTIONS)
        for e in ("vectorized", "event")
    ]
    assert len(runs[0].fills) == 5
    pd.testing.assert_frame_equal(runs[0].fills, runs[1].fills)
    pd.testing.assert_series_equal(runs[0].equity, runs[1].equity)


class LimitBuyer(OrderStrategy):
    """Rests a limit buy below the last close (from its history) once, then holds."""

    name: ClassVar[str] = "limit_buyer_test_only"
    params: ClassVar[tuple[Param, ...]] = ()
    seen: ClassVar[list[float]] = []

    def on_bar(self, ctx) -> None:  # type: ignore[no-untyped-def]
        last = float(ctx.history("A")["close"].iloc[-1])
        assert ctx.arrays("A").close[-1] == pytest.approx(last)  # the fast view agrees
        LimitBuyer.seen.append(last)
        if ctx.i == 0:
            ctx.submit(OrderIntent("A", Side.BUY, 10, OrderType.LIMIT, limit_price=last * 0.6))


def test_order_strategy_sees_raw_price_now_and_resting_orders_follow_the_split() -> None:
    LimitBuyer.seen = []
    book = OrderBook.__new__(OrderBook)
    book.orders = [Order("A", Side.BUY, 10, OrderType.LIMIT, limit_price=20.0)]
    book.apply_split("A", 2.0)
    assert (book.orders[0].quantity, book.orders[0].limit_price) == (20, 10.0)
    result = run_backtest(LimitBuyer(), {"A": raw_bars()}, config("event"), actions=ACTIONS)
    # The newest bar of its history is always the raw quote of that day.
    assert LimitBuyer.seen == pytest.approx(CLOSES)
    # Limit 60 for 10 shares became 30 for 20 at the split: day 2's low (50) never reaches it
    # (left at 60, it would have filled at day 2's open of 51).
    assert result.fills.empty
