"""Samsung Electronics' 50:1 split (ex-date 2018-05-04) rebuilt as raw KRX prices: signals are
those of the adjusted series, P&L is correct in raw prices, and without the action a raw run shows
the fake 98% crash (so these tests can fail). Data: `tests/data/corporate_actions/README.md`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from qts.backtest import BacktestConfig, run_backtest
from qts.market.corporate_actions import CorporateAction, adjust_frame, splits_from_adjusted
from qts.strategies import create_strategy
from qts.strategies.base import Param, TargetStrategy

DATA = Path(__file__).resolve().parents[1] / "data" / "corporate_actions"
SYMBOL = "005930"
SPLIT = CorporateAction(SYMBOL, date(2018, 5, 4), "split", ratio=50.0, exchange="KRX")
ACTIONS = {SYMBOL: [SPLIT]}
BEFORE, EX = pd.Timestamp("2018-04-27", tz="UTC"), pd.Timestamp("2018-05-04", tz="UTC")


def load(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / f"005930_{name}.csv", dtype={"timestamp": str})
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), utc=True), name="ts")
    return frame.astype("float64")


RAW, ADJUSTED = load("raw"), load("adjusted")


class Hold(TargetStrategy):
    """90% of equity from the first bar on: a position held through the split."""

    name: ClassVar[str] = "hold_test_only"
    params: ClassVar[tuple[Param, ...]] = ()

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return pd.Series(0.9, index=bars.index)


def test_the_raw_file_is_the_real_quote_and_adjusting_it_gives_back_the_adjusted_one() -> None:
    assert RAW.loc[BEFORE, "close"] == 2_650_000  # KRX close of 2018-04-27, before the halt
    pd.testing.assert_frame_equal(adjust_frame(RAW, [SPLIT]), ADJUSTED)
    # pykrx-style derivation: adjusted vs raw closes imply exactly this split.
    found = splits_from_adjusted(SYMBOL, RAW, ADJUSTED)
    assert [(a.ex_date, a.ratio) for a in found] == [(date(2018, 5, 4), 50.0)]


def test_signals_on_raw_plus_actions_equal_those_on_the_adjusted_series() -> None:
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20})
    on_adjusted = strategy.target_positions({SYMBOL: ADJUSTED})
    on_raw = strategy.target_positions({SYMBOL: adjust_frame(RAW, [SPLIT])})
    pd.testing.assert_frame_equal(on_raw, on_adjusted)
    assert on_adjusted[SYMBOL].diff().abs().sum() >= 4  # it does trade over the window
    runs = {
        engine: run_backtest(
            strategy, {SYMBOL: RAW}, BacktestConfig(engine=engine), actions=ACTIONS
        )
        for engine in ("vectorized", "event")
    }
    reference = run_backtest(strategy, {SYMBOL: ADJUSTED}, BacktestConfig())
    fills = runs["vectorized"].fills
    pd.testing.assert_frame_equal(fills, runs["event"].fills)  # engines fill-identical
    assert fills["ts"].tolist() == reference.fills["ts"].tolist()  # same entries and exits
    raw_prices = RAW["open"].reindex(fills["ts"]).to_numpy()
    assert (fills["price"].to_numpy() == raw_prices).all()  # filled at the raw quotes
    # The 2018-04-18 entry is held through the split: 33 shares at 2,550,000 sold as 1,650.
    assert fills["quantity"].iloc[6:8].tolist() == [33, -1650]
    trade = runs["vectorized"].trades.iloc[3]
    assert (trade["size"], trade["entry_price"], trade["exit_price"]) == (1650, 51_000, 49_200)
    final = runs["vectorized"].metrics["final_equity"] / reference.metrics["final_equity"]
    assert final == pytest.approx(1.0, abs=0.01)  # differs by lot rounding of 2.6M-won shares


def test_a_position_held_through_the_split_keeps_its_value() -> None:
    result = run_backtest(Hold(), {SYMBOL: RAW}, BacktestConfig(), actions=ACTIONS)
    reference = run_backtest(Hold(), {SYMBOL: ADJUSTED}, BacktestConfig())
    held = result.positions[SYMBOL]
    assert held[EX] == held[BEFORE] * 50 and held[BEFORE] > 0
    # One share before is 50 after: the day's P&L per adjusted share is the adjusted move.
    move = result.equity[EX] - result.equity[BEFORE]
    assert move == pytest.approx(held[EX] * (51_900 - 2_650_000 / 50))
    ref_move = reference.equity[EX] - reference.equity[BEFORE]
    assert move / held[EX] == pytest.approx(ref_move / reference.positions[SYMBOL][EX])
    assert result.fills["quantity"].tolist() == [held[BEFORE]]  # no trade at the split
    # Whole-run P&L equals the adjusted run's within lot rounding (31 x 50 vs 1565 shares).
    gain, ref_gain = result.equity.iloc[-1] - 1e8, reference.equity.iloc[-1] - 1e8
    assert gain / held.iloc[-1] == pytest.approx(ref_gain / reference.positions[SYMBOL].iloc[-1])
    assert result.benchmark.round(6).equals(reference.benchmark.round(6))


def test_raw_prices_without_the_action_show_the_fake_crash() -> None:
    naive = run_backtest(Hold(), {SYMBOL: RAW}, BacktestConfig(price_adjustment="raw"))
    held = naive.positions[SYMBOL]
    assert held[EX] == held[BEFORE]  # nobody told the engine about the split
    value_before, value_after = held[BEFORE] * 2_650_000, held[EX] * 51_900
    assert value_after / value_before - 1 == pytest.approx(-0.9804, abs=1e-3)
    assert naive.equity[EX] / naive.equity[BEFORE] - 1 < -0.85
