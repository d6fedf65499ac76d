"""The paper/live runner's decision step is O(1) in the history: counted in rows handed to the
strategy per bar (not timed), with the backtest's fills exactly, for every built-in and for a
user strategy on the bounded-window and full-history fallbacks."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from qts.backtest.config import BacktestConfig
from qts.backtest.engine import run_backtest
from qts.core.types import Bar
from qts.db.models import Fill
from qts.execution.paper import PaperExecutor
from qts.execution.runner import StrategyRunner
from qts.execution.target_decisions import decision_mode
from qts.services.trading.order_service import OrderService
from qts.strategies.base import TargetStrategy
from qts.strategies.builtin import SmaCross
from qts.strategies.params import Param
from qts.strategies.registry import create_strategy
from tests.execution.conftest import sample_bars

KRX = BacktestConfig(cash=10_000_000, slippage_bps=5)


class WindowMomentum(TargetStrategy):
    """A user rule with no stepper: long when the close is above its `n`-bar-old close. Its
    last target depends on the last n + 1 bars only, so it declares that window."""

    name: ClassVar[str] = "window_momentum_test"
    params: ClassVar[tuple[Param, ...]] = (Param("n", "int", 12, low=1, high=500),)

    @property
    def history_window(self) -> int:
        return int(self.p["n"]) + 1

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        close = bars["close"]
        return (close > close.shift(self.p["n"])).astype(float)


class FullHistoryMomentum(WindowMomentum):
    """The same rule declaring nothing: the runner hands it the whole history."""

    @property
    def history_window(self) -> None:  # type: ignore[override]
        return None


class ReversedSma(SmaCross):
    """A subclass replacing the rules: SmaCross's stepper must not be used for it."""

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return -super().symbol_targets(bars).clip(lower=0.0)


def _bar(symbol: str, ts: pd.Timestamp, row: pd.Series) -> Bar:
    return Bar(symbol, "1d", ts.to_pydatetime(), row.open, row.high, row.low, row.close, row.volume)


def _rows_per_bar(runner: StrategyRunner, frame: pd.DataFrame, symbol: str, db) -> list[int]:  # type: ignore[no-untyped-def]
    per_bar = []
    for ts, row in frame.iterrows():
        before = runner.rows_handed
        with db.deferred_transaction():  # one per bar step, as in a session
            runner.on_bars({symbol: _bar(symbol, ts, row)})
        per_bar.append(runner.rows_handed - before)
    return per_bar


def _fills(db, bus, strategy, frame: pd.DataFrame, symbol: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    runner = _runner(db, bus, strategy, symbol, tag="parity")
    _rows_per_bar(runner, frame, symbol, db)
    with db.session() as s:
        return list(
            s.execute(select(Fill.ts, Fill.side, Fill.quantity, Fill.price).order_by(Fill.id))
        )


def _runner(db, bus, strategy, symbol: str, history=None, tag: str = "rows"):  # type: ignore[no-untyped-def]
    config = KRX.resolve([symbol], strategy_params=strategy.p)
    executor = PaperExecutor(config.fill_model, config.cash)
    service = OrderService(db, bus, {"paper": executor})
    history_map = {symbol: history} if history is not None else None
    return StrategyRunner(
        strategy, [symbol], service, config, executor, tag=tag, history=history_map
    )


def test_builtins_step_one_row_per_bar_however_long_the_history(sqlite_db, bus) -> None:  # type: ignore[no-untyped-def]
    frame = sample_bars("kr_daily/005930.csv")
    strategy = create_strategy("rsi_reversion", {"period": 10})
    assert decision_mode(strategy) == "stepper"
    # 300 bars of history first, then 70 new bars: each hands the strategy one row.
    runner = _runner(sqlite_db, bus, strategy, "005930", history=frame.iloc[:300])
    assert _rows_per_bar(runner, frame.iloc[300:], "005930", sqlite_db) == [1] * 70
    assert runner.state.rows_handed == 70 and runner.state.bars_seen == 70


def test_a_declared_window_hands_that_many_rows_and_full_history_grows(sqlite_db, bus) -> None:  # type: ignore[no-untyped-def]
    frame = sample_bars("kr_daily/005930.csv").iloc[:80]
    windowed = _runner(sqlite_db, bus, WindowMomentum(n=12), "005930")
    assert windowed.decisions is not None and windowed.decisions.mode == "window"
    per_bar = _rows_per_bar(windowed, frame, "005930", sqlite_db)
    assert per_bar == [min(i + 1, 13) for i in range(80)]
    full = _runner(sqlite_db, bus, FullHistoryMomentum(n=12), "005930", tag="full")
    assert full.decisions is not None and full.decisions.mode == "full"
    assert _rows_per_bar(full, frame, "005930", sqlite_db) == list(range(1, 81))


def test_a_subclass_replacing_the_rules_does_not_inherit_the_stepper() -> None:
    assert decision_mode(SmaCross()) == "stepper"
    assert decision_mode(ReversedSma()) == "full"


@pytest.mark.parametrize(
    ("spec", "params"),
    [
        ("ts_momentum", {"lookback": 20, "threshold": 0.05, "allow_short": True}),
        ("bollinger_zscore", {"period": 15, "entry_z": 1.5, "exit_z": 0.25, "allow_short": True}),
    ],
)
def test_paper_replay_matches_backtest_for_the_other_builtins(
    sqlite_db, bus, spec: str, params: dict
) -> None:  # type: ignore[no-untyped-def]
    frame = sample_bars("kr_daily/005930.csv").iloc[:250]
    expected = run_backtest(create_strategy(spec, params), frame, KRX, symbol="005930").fills
    rows = _fills(sqlite_db, bus, create_strategy(spec, params), frame, "005930")
    assert len(expected) >= 4 and len(rows) == len(expected)
    assert [pd.Timestamp(r.ts) for r in rows] == list(expected["ts"])
    np.testing.assert_array_equal([r.price for r in rows], expected["price"])
    signed = [(1 if r.side == "buy" else -1) * r.quantity for r in rows]
    np.testing.assert_array_equal(signed, expected["quantity"])


def test_the_window_fallback_gives_the_backtest_fills(sqlite_db, bus) -> None:  # type: ignore[no-untyped-def]
    frame = sample_bars("kr_daily/005930.csv").iloc[:150]
    expected = run_backtest(WindowMomentum(n=12), frame, KRX, symbol="005930").fills
    rows = _fills(sqlite_db, bus, WindowMomentum(n=12), frame, "005930")
    assert len(expected) >= 4 and len(rows) == len(expected)
    np.testing.assert_array_equal([r.price for r in rows], expected["price"])


def test_a_symbol_without_a_bar_keeps_its_position_and_is_not_traded_there(sqlite_db, bus) -> None:  # type: ignore[no-untyped-def]
    """A stock closed on a day the crypto symbol trades: no order, no fill for the stock
    at that time; its position is held through the gap."""
    stock = sample_bars("kr_daily/005930.csv").iloc[:150]
    crypto = stock * 1.0
    gaps = stock.index[40:150:7]  # days the stock has no bar
    stock = stock.drop(gaps)
    strategy = create_strategy("sma_cross", {"fast": 3, "slow": 8})
    config = KRX.resolve(["S", "C"], strategy_params=strategy.p)
    executor = PaperExecutor(config.fill_model, config.cash)
    service = OrderService(sqlite_db, bus, {"paper": executor})
    runner = StrategyRunner(strategy, ["S", "C"], service, config, executor, tag="gap")
    held_through_gaps = 0
    for ts, row in crypto.iterrows():
        bars = {"C": _bar("C", ts, row)}
        if ts in stock.index:
            bars["S"] = _bar("S", ts, stock.loc[ts])
        held = executor.portfolio.quantity("S")
        with sqlite_db.deferred_transaction():
            placed = runner.on_bars(bars)
        if ts in gaps:
            assert all(o["symbol"] == "C" for o in placed)
            assert executor.portfolio.quantity("S") == held  # no fill for S at its gap
            held_through_gaps += held != 0
    assert held_through_gaps > 0, "the stock must be held across some gap for this to test"
    # The stock's decisions equal the single-symbol replay of its own bars (half the equity).
    alone = create_strategy("sma_cross", {"fast": 3, "slow": 8}).symbol_targets(stock)
    assert runner.state.decided["S"] == float(alone.iloc[-1]) * 0.5
