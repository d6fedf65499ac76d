"""The 50-symbol US daily portfolio trades exactly as vectorbt's shared-cash group.

Needs vectorbt (the `bench` extra: vectorbt 1.2 requires pandas >= 3, so it is not in the dev
environment) and the shared data folder; skips with the reason otherwise. The same holding
behaviour is checked with qts' own engines in `test_multi_asset_alignment.py`, which always runs.

Same strategy (sma_cross 10/30, long only) per symbol, 1/50 of equity each, decided at a
symbol's close and filled at its next own bar's open, 0.1% commission, whole shares, one cash
pool, sells before buys. 15 of the files carry a 2023-06-19 holiday placeholder row the other
35 lack: a symbol without a bar must keep its position.

* `from_signals` (group_by + cash_sharing): entry and exit bars of every trade equal qts'
  (its sizes are a share of free cash, a different sizing rule, so sizes are not compared).
* `from_orders` with target percentages at the same decisions: trades equal including sizes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from qts.backtest import BacktestConfig, run_backtest
from qts.market.files import load_bars_file
from qts.strategies import create_strategy

vbt = pytest.importorskip("vectorbt", reason="vectorbt (the bench extra, pandas>=3) not installed")

SHARED = Path(
    os.environ.get("QTS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
US_DAILY = SHARED / "us_daily"
pytestmark = pytest.mark.skipif(not US_DAILY.is_dir(), reason=f"{US_DAILY} is absent")
FAST, SLOW, FEE, CASH = 10, 30, 0.001, 1_000_000.0


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(len(a), bool)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def _next_own_bar(values: np.ndarray, bars: pd.DataFrame, index: pd.DatetimeIndex, fill):  # type: ignore[no-untyped-def]
    """A decision at a symbol's bar acts at that symbol's next bar, on the portfolio's axis."""
    shifted = pd.Series(np.r_[fill, values[:-1]], index=bars.index)
    return shifted.reindex(index, fill_value=fill)


@pytest.fixture(scope="module")
def portfolio() -> dict:
    data = {f.stem: load_bars_file(f) for f in sorted(US_DAILY.glob("*.csv"))}
    assert len(data) == 50
    strategy = create_strategy("sma_cross", {"fast": FAST, "slow": SLOW})
    config = BacktestConfig(market="us", cash=CASH, commission=FEE, sell_tax=0.0, slippage_bps=0)
    result = run_backtest(strategy, data, config)
    index = result.equity.index
    close = pd.DataFrame({s: b["close"] for s, b in data.items()}).reindex(index)
    open_ = pd.DataFrame({s: b["open"] for s, b in data.items()}).reindex(index)
    # Equity for sizing: opens where a symbol has a bar, its last close where it has none.
    value_price = open_.where(open_.notna(), close.ffill())
    plain = index.tz_localize(None)  # vectorbt converts tz-aware indexes slowly under pandas 3
    frames = {"close": close, "open": open_, "value_price": value_price}
    return {
        "data": data,
        "trades": result.trades,
        "index": index,
        **{k: v.set_axis(plain) for k, v in frames.items()},
    }


def _qts_trades(trades: pd.DataFrame, with_size: bool) -> list[tuple]:
    rows = zip(trades["symbol"], trades["entry_time"], trades["exit_time"], trades["status"],
               trades["size"], strict=True)  # fmt: skip
    return sorted(
        (s, e.tz_localize(None), x.tz_localize(None) if st == "closed" else None)
        + ((round(float(z), 6),) if with_size else ())
        for s, e, x, st, z in rows
    )


def _vbt_trades(pf, symbols: list[str], index: pd.DatetimeIndex, with_size: bool) -> list[tuple]:  # type: ignore[no-untyped-def]
    rec = pf.trades.records
    rows = zip(rec["col"], rec["entry_idx"], rec["exit_idx"], rec["status"], rec["size"],
               strict=True)  # fmt: skip
    return sorted(
        (symbols[c], index[e], index[x] if st == 1 else None)
        + ((round(float(z), 6),) if with_size else ())
        for c, e, x, st, z in rows
    )


def test_from_signals_with_cash_sharing_has_the_same_entries_and_exits(portfolio: dict) -> None:
    data, plain = portfolio["data"], portfolio["close"].index
    entries, exits = {}, {}
    for s, bars in data.items():
        c = bars["close"].to_numpy()
        fast, slow = talib.SMA(c, FAST), talib.SMA(c, SLOW)
        entries[s] = _next_own_bar(_cross(fast, slow), bars, portfolio["index"], False)
        exits[s] = _next_own_bar(_cross(slow, fast), bars, portfolio["index"], False)
    pf = vbt.Portfolio.from_signals(
        close=portfolio["close"],
        entries=pd.DataFrame(entries).set_axis(plain),
        exits=pd.DataFrame(exits).set_axis(plain),
        price=portfolio["open"],
        val_price=portfolio["value_price"],
        size=1.0 / len(data),
        size_type="percent",
        fees=FEE,
        size_granularity=1,
        init_cash=CASH,
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        freq="1D",
    )
    theirs = _vbt_trades(pf, list(data), plain, with_size=False)
    ours = _qts_trades(portfolio["trades"], with_size=False)
    assert len(ours) > 2500
    assert ours == theirs


def test_from_orders_target_percent_gives_identical_trades_and_sizes(portfolio: dict) -> None:
    data, plain = portfolio["data"], portfolio["close"].index
    k = len(data)
    sizes = {}
    for s, bars in data.items():
        c = bars["close"].to_numpy()
        fast, slow = talib.SMA(c, FAST), talib.SMA(c, SLOW)
        events = np.full(len(c), np.nan)
        events[_cross(slow, fast)] = 0.0
        events[_cross(fast, slow)] = 1.0
        state = pd.Series(events).ffill().fillna(0.0).to_numpy()
        changed = state != np.r_[0.0, state[:-1]]
        target = np.where(changed, state / k, np.nan)  # NaN: no order
        sizes[s] = _next_own_bar(target, bars, portfolio["index"], np.nan)
    pf = vbt.Portfolio.from_orders(
        close=portfolio["close"],
        size=pd.DataFrame(sizes).set_axis(plain),
        size_type="targetpercent",
        price=portfolio["open"],
        val_price=portfolio["value_price"],
        fees=FEE,
        size_granularity=1,
        init_cash=CASH,
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        freq="1D",
    )
    theirs = _vbt_trades(pf, list(data), plain, with_size=True)
    assert _qts_trades(portfolio["trades"], with_size=True) == theirs
