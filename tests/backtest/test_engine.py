"""Engines: vectorized == event-driven, compiled == Python, t+1 fills, hand-computed runs."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from qts.backtest import BacktestConfig
from qts.backtest.actions import ActionArrays
from qts.backtest.engine import run_backtest, run_vectorized
from qts.backtest.kernel import HAS_NUMBA, python_kernels
from qts.backtest.market import MarketArrays, plan_execution
from qts.backtest.raw_run import RawRun
from qts.core.errors import ValidationError
from qts.core.types import OrderType, Side
from qts.strategies import OrderIntent, OrderStrategy, TargetStrategy, create_strategy
from qts.strategies.params import Param
from tests.strategies.sample import load_sample, random_bars

STRATEGIES = [
    ("sma_cross", {"fast": 5, "slow": 20, "allow_short": True}),
    ("ts_momentum", {"lookback": 20}),
    ("rsi_reversion", {"period": 10, "lower": 35, "upper": 65, "allow_short": True}),
    ("bollinger_zscore", {"period": 15, "entry_z": 1.5}),
]
CONFIGS = {
    "open_costs": BacktestConfig(
        cash=10_000_000,
        commission=0.0015,
        fixed_fee=100.0,
        min_fee=500.0,
        sell_tax=0.0018,
        slippage_bps=5,
        slippage_vol_mult=0.2,
    ),
    "close_lots": BacktestConfig(
        cash=10_000_000,
        commission=0.002,
        sell_tax=0.0,
        lot_size=10,
        fill_at="close",
    ),
    "every_bar": BacktestConfig(
        cash=10_000_000, commission=0.001, sell_tax=0.0, rebalance="every_bar"
    ),
}


def assert_same_run(a, b) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_frame_equal(a.fills, b.fills, check_exact=False, rtol=1e-12)
    pd.testing.assert_series_equal(a.equity, b.equity, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(a.trades, b.trades, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize(("name", "params"), STRATEGIES)
@pytest.mark.parametrize("config_name", list(CONFIGS))
def test_vectorized_equals_event_driven_on_real_data(name, params, config_name) -> None:
    bars = load_sample("kr_daily/000660.csv")
    strategy = create_strategy(name, params)
    config = CONFIGS[config_name]
    fast = run_backtest(strategy, bars, config)
    slow = run_backtest(
        strategy,
        bars,
        replace(config, engine="event"),
    )
    assert len(fast.fills) >= 4
    assert_same_run(fast, slow)


def test_vectorized_equals_event_driven_multi_symbol_with_missing_bars() -> None:
    # A daily stock (no weekends) beside a 7-day crypto series: shared cash, pending orders
    # wait for the symbol's next bar.
    crypto = load_sample("crypto_1h/ETH_USDT.csv")
    crypto_daily = (
        crypto.resample("1D")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna()
    )
    stock = random_bars(400, seed=11, start="2024-09-16", freq="B", vol=0.02)
    universe = {"ETH": crypto_daily.iloc[:500], "STK": stock}
    strategy = create_strategy("sma_cross", {"fast": 3, "slow": 10, "allow_short": True})
    config = BacktestConfig(
        cash=100_000,
        commission=0.001,
        min_fee=1.0,
        sell_tax=0.0,
        fractional=True,
        qty_step=0.0001,
        slippage_bps=3,
    )
    fast = run_backtest(strategy, universe, config)
    slow = run_backtest(
        strategy,
        universe,
        replace(config, engine="event"),
    )
    assert set(fast.fills["symbol"]) == {"ETH", "STK"}
    assert_same_run(fast, slow)


def test_compiled_kernel_equals_python_kernel() -> None:
    if not HAS_NUMBA:
        pytest.skip("numba is not installed: only the Python kernel exists")
    bars = random_bars(3000, seed=5, start="2024-10-01", vol=0.02)
    strategy = create_strategy("rsi_reversion", {"allow_short": True, "period": 6})
    # KRX's dated sell tax, over bars that cross 2024 -> 2025 (0.18% -> 0.15%).
    config = BacktestConfig(
        market="krx",
        cash=50_000,
        commission=0.001,
        fixed_fee=1.0,
        min_fee=3.0,
        slippage_bps=2,
        allow_short=True,
    ).resolve(["A"])
    market = MarketArrays.from_universe({"A": bars})
    taxes = config.costs.sell_taxes(market.index)
    assert set(taxes) == {0.0018, 0.0015}
    targets = strategy.target_positions({"A": bars})
    compiled = run_vectorized(targets, market, config)
    plan = plan_execution(targets, market, config)
    rebalance_py, _ = python_kernels()
    n = len(bars)
    qty, cash = np.zeros((n, 1)), np.zeros(n)
    cap = int(plan.flag.sum()) + 1
    arrays = [
        np.zeros(cap, dtype=np.int64),
        np.zeros(cap, dtype=np.int64),
        np.zeros(cap),
        np.zeros(cap),
        np.zeros(cap),
    ]
    nf = rebalance_py(
        plan.price,
        market.mark,
        plan.want,
        plan.flag,
        plan.slip,
        np.array([1.0]),
        50_000.0,
        np.array([[0.001]]),
        np.array([[1.0]]),
        np.array([[3.0]]),
        taxes.reshape(-1, 1),
        True,
        1.0,
        qty,
        cash,
        *arrays,
        *ActionArrays.empty().kernel_args(),
    )
    python = RawRun(qty, cash, *(a[:nf] for a in arrays))
    assert nf > 50
    np.testing.assert_array_equal(python.f_bar, compiled.f_bar)
    np.testing.assert_allclose(python.f_price, compiled.f_price, rtol=1e-13)
    np.testing.assert_allclose(python.cash, compiled.cash, rtol=1e-13)


class Scripted(TargetStrategy):
    """Targets given as a list, for hand-computed runs."""

    name: ClassVar[str] = "scripted_test_only"
    params: ClassVar[tuple[Param, ...]] = ()
    script: ClassVar[list[float]] = []

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return pd.Series(self.script[: len(bars)], index=bars.index)


def frame(opens: list[float], closes: list[float]) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=len(opens), freq="D", tz="UTC", name="ts")
    return pd.DataFrame(
        {
            "open": opens,
            "high": np.maximum(opens, closes),
            "low": np.minimum(opens, closes),
            "close": closes,
        },
        index=index,
    )


def test_signal_at_t_fills_at_next_open_by_hand() -> None:
    Scripted.script = [0, 1, 1, 0, 0]
    bars = frame([10, 11, 12, 13, 14], [10.5, 11.5, 12.5, 13.5, 14.5])
    result = run_backtest(
        Scripted(), bars, BacktestConfig(cash=1000, commission=0.01, sell_tax=0.0)
    )
    # Decided at bar 1 -> bought at bar 2's open (12): floor(1000 / (12 * 1.01)) = 82 units.
    # Decided at bar 3 -> sold at bar 4's open (14).
    fills = result.fills
    assert fills["ts"].tolist() == [bars.index[2], bars.index[4]]
    assert fills["quantity"].tolist() == [82, -82]
    assert fills["price"].tolist() == [12, 14]
    buy_fee, sell_fee = 82 * 12 * 0.01, 82 * 14 * 0.01
    cash_after = 1000 - 82 * 12 - buy_fee + 82 * 14 - sell_fee
    assert result.equity.iloc[2] == pytest.approx(1000 - 82 * 12 - buy_fee + 82 * 12.5)
    assert result.metrics["final_equity"] == pytest.approx(cash_after)
    trade = result.trades.iloc[0]
    assert trade["pnl"] == pytest.approx(82 * 2 - buy_fee - sell_fee)
    assert trade["fees"] == pytest.approx(buy_fee + sell_fee)
    assert trade["entry_time"] == bars.index[2] and trade["exit_time"] == bars.index[4]


def test_close_fill_option_uses_the_deciding_bar_close() -> None:
    Scripted.script = [0, 1, 1, 0, 0]
    bars = frame([10, 11, 12, 13, 14], [10.5, 11.5, 12.5, 13.5, 14.5])
    result = run_backtest(Scripted(), bars, BacktestConfig(cash=1000, fill_at="close"))
    assert result.fills["ts"].tolist() == [bars.index[1], bars.index[3]]
    assert result.fills["price"].tolist() == [11.5, 13.5]


def test_no_fill_on_the_signal_bar_itself() -> None:
    # A signal that knows its own bar's close must not trade at that bar's open or close.
    bars = random_bars(300, seed=9)
    strategy = create_strategy("sma_cross", {"fast": 3, "slow": 8})
    targets = strategy.target_positions(bars)["ASSET"]
    result = run_backtest(strategy, bars, BacktestConfig(cash=10_000))
    change_bars = np.flatnonzero(np.diff(np.r_[0.0, targets.to_numpy()]) != 0)
    fill_bars = bars.index.get_indexer(result.fills["ts"])
    assert set(fill_bars) <= set(change_bars + 1)
    assert np.allclose(result.fills["price"], bars["open"].to_numpy()[fill_bars])


def test_cash_never_negative_with_costs_minimum_fees_and_shorts() -> None:
    for seed in range(4):
        bars = random_bars(600, seed=seed, vol=0.03)
        strategy = create_strategy("rsi_reversion", {"period": 5, "allow_short": True})
        config = BacktestConfig(
            cash=1_000,
            commission=0.003,
            fixed_fee=2.0,
            min_fee=7.0,
            sell_tax=0.002,
            slippage_bps=20,
            rebalance="every_bar",
        )
        result = run_backtest(strategy, bars, config)
        cash = result.equity - (result.positions["ASSET"] * bars["close"]).to_numpy()
        assert len(result.fills) > 20
        assert cash.min() >= -1e-9


def test_leverage_allows_borrowing() -> None:
    Scripted.script = [2.0] * 5  # clipped to 1 per symbol, but leverage lets it cost more
    bars = frame([10] * 5, [10] * 5)
    result = run_backtest(Scripted(), bars, BacktestConfig(cash=1000, leverage=2))
    assert result.fills["quantity"].tolist() == [100]


def test_trade_start_is_a_warm_up() -> None:
    bars = load_sample("kr_daily/005930.csv")
    strategy = create_strategy("sma_cross", {"fast": 5, "slow": 20})
    result = run_backtest(
        strategy, bars, BacktestConfig(cash=10_000_000), trade_start=bars.index[200]
    )
    assert result.equity.index[0] == bars.index[200]
    assert result.fills["ts"].min() > bars.index[200]
    with pytest.raises(ValidationError, match="after the last bar"):
        run_backtest(strategy, bars, trade_start="2100-01-01")


class BracketBreakout(OrderStrategy):
    name: ClassVar[str] = "bracket_test_only"
    params: ClassVar[tuple[Param, ...]] = ()

    def on_bar(self, ctx) -> None:  # type: ignore[no-untyped-def]
        if ctx.position("X") == 0 and not ctx.open_orders("X"):
            last = ctx.history("X").iloc[-1]
            ctx.submit(
                OrderIntent(
                    "X",
                    Side.BUY,
                    10,
                    type=OrderType.STOP,
                    stop_price=last["high"] + 1,
                    stop_loss=last["low"] - 1,
                    take_profit=last["high"] + 5,
                )
            )


def test_order_strategy_with_stop_entry_and_bracket_by_hand() -> None:
    bars = frame([100, 100, 104, 106, 101], [100, 101, 105, 102, 103])
    bars["high"] = [101, 102, 106, 107, 104]
    bars["low"] = [99, 99, 103, 100, 100]
    result = run_backtest(BracketBreakout(), bars, BacktestConfig(cash=10_000), symbol="X")
    # Bar 0 decides: buy stop at 102, SL 98, TP 106. Bar 1's high 102 triggers it at 102.
    # Bar 2 (high 106) reaches the take-profit at 106. Then a new stop at 107 triggers in
    # bar 3 (high 107); its SL (bar 2 low 103 - 1 = 102) is hit in bar 3 (low 100) at 102.
    got = list(
        zip(result.fills["ts"], result.fills["quantity"], result.fills["price"], strict=True)
    )
    assert got == [
        (bars.index[1], 10, 102),
        (bars.index[2], -10, 106),
        (bars.index[3], 10, 107),
        (bars.index[3], -10, 102),
    ]
    assert result.trades["pnl"].tolist() == [40, -50]
    with pytest.raises(ValidationError, match="target strategies only"):
        run_backtest(BracketBreakout(), bars, BacktestConfig(engine="vectorized"))


def test_empty_data_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="empty"):
        run_backtest(create_strategy("sma_cross"), random_bars(5).iloc[:0])
    with pytest.raises(ValidationError, match="cash"):
        BacktestConfig(cash=0)
    with pytest.raises(ValidationError, match="fill_at"):
        BacktestConfig(fill_at="tomorrow")
