"""qts backtest speed and trade-list agreement vs backtesting.py, vectorbt and backtrader.

Same strategy everywhere: sma_cross long-only (buy on fast SMA crossing above slow, close on the
cross down; cross = a[t] > b[t] and a[t-1] <= b[t-1]), decided at bar t's close, filled at bar
t+1's open, all-in with whole units sized at the fill price: floor(cash / (open * (1 + fee))),
commission 0.1% of traded value. SMAs come from TA-Lib in every library.

Cases: 1,000,000 synthetic one-minute bars (seeded random walk made here) and a real daily series
(src/qts/sample_data/us_index_daily/GSPC.csv). Each library runs once untimed (numba compile,
imports) and is then timed (best of 3 runs for qts and vectorbt, one run for the slower two).

    python benchmarks/bench_backtest.py [--bars 1000000] [--skip backtrader,backtesting]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import talib

FAST, SLOW, FEE = 10, 30, 0.001
ROOT = Path(__file__).resolve().parents[1]


def synthetic_minutes(n: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0.0, 0.0002, n))
    wick = np.abs(rng.normal(0.0, 0.0004, n)) * close
    index = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="ts")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + wick,
            "low": np.minimum(open_, close) - wick,
            "close": close,
            "volume": rng.uniform(1, 10, n),
        },
        index=index,
    )


def real_daily() -> pd.DataFrame:
    frame = pd.read_csv(ROOT / "src/qts/sample_data/us_index_daily/GSPC.csv")
    bars = frame[["open", "high", "low", "close", "volume"]].astype(float)
    bars.index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True), name="ts")
    return bars


def crosses(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fast, slow = talib.SMA(close, FAST), talib.SMA(close, SLOW)
    up = np.zeros(len(close), bool)
    down = np.zeros(len(close), bool)
    with np.errstate(invalid="ignore"):
        up[1:] = (fast[1:] > slow[1:]) & (fast[:-1] <= slow[:-1])
        down[1:] = (slow[1:] > fast[1:]) & (slow[:-1] <= fast[:-1])
    return up, down


Trades = list[tuple[pd.Timestamp, pd.Timestamp, float]]


def run_qts(bars: pd.DataFrame, cash: float) -> Trades:
    from qts.backtest import BacktestConfig, run_backtest
    from qts.strategies import create_strategy

    strategy = create_strategy("sma_cross", {"fast": FAST, "slow": SLOW})
    result = run_backtest(strategy, bars, BacktestConfig(cash=cash, commission=FEE, sell_tax=0.0))
    t = result.trades[result.trades["status"] == "closed"]
    return list(zip(t["entry_time"], t["exit_time"], t["size"].astype(float), strict=True))


def run_vectorbt(bars: pd.DataFrame, cash: float) -> Trades:
    import vectorbt as vbt

    up, down = crosses(bars["close"].to_numpy())
    # Signals at t execute at t+1's open.
    entries = pd.Series(np.r_[False, up[:-1]], index=bars.index)
    exits = pd.Series(np.r_[False, down[:-1]], index=bars.index)
    pf = vbt.Portfolio.from_signals(
        close=bars["close"],
        entries=entries,
        exits=exits,
        price=bars["open"],
        fees=FEE,
        size=np.inf,
        size_granularity=1,
        init_cash=cash,
        freq="1min",
    )
    rec = pf.trades.records
    rec = rec[rec["status"] == 1]
    idx = bars.index
    return [
        (idx[e], idx[x], float(s))
        for e, x, s in zip(rec["entry_idx"], rec["exit_idx"], rec["size"], strict=True)
    ]


def run_backtesting(bars: pd.DataFrame, cash: float) -> Trades:
    from backtesting import Backtest, Strategy

    class SmaCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(talib.SMA, self.data.Close, FAST)
            self.slow = self.I(talib.SMA, self.data.Close, SLOW)

        def next(self) -> None:
            f, s = self.fast, self.slow
            if f[-1] > s[-1] and f[-2] <= s[-2]:
                if not self.position:
                    self.buy()
            elif s[-1] > f[-1] and s[-2] <= f[-2]:
                self.position.close()

    data = bars.rename(columns=str.capitalize)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        bt = Backtest(data, SmaCross, cash=cash, commission=FEE, finalize_trades=False)
        stats = bt.run()  # its progress bar goes to the swallowed stderr
    t = stats._trades
    return list(zip(t["EntryTime"], t["ExitTime"], t["Size"].astype(float), strict=True))


def run_backtrader(bars: pd.DataFrame, cash: float) -> Trades:
    import backtrader as bt

    trades: Trades = []

    class SmaCross(bt.Strategy):
        def __init__(self) -> None:
            self.fast = bt.talib.SMA(self.data.close, timeperiod=FAST)
            self.slow = bt.talib.SMA(self.data.close, timeperiod=SLOW)
            self.pending = 0

        def next(self) -> None:  # decide at t's close
            f, s = self.fast, self.slow
            if f[0] > s[0] and f[-1] <= s[-1] and not self.position:
                self.pending = 1
            elif s[0] > f[0] and s[-1] <= f[-1] and self.position:
                self.pending = -1

        def next_open(self) -> None:  # cheat-on-open: act at t+1's open, sized at that price
            if self.pending == 1:
                size = int(self.broker.getcash() / (self.data.open[0] * (1 + FEE)))
                if size:
                    self.buy(size=size)
            elif self.pending == -1:
                self.close()
            self.pending = 0

        def notify_trade(self, trade: bt.Trade) -> None:
            if trade.justopened:
                self.open_size = float(trade.size)
            if trade.isclosed:
                trades.append(
                    (bt.num2date(trade.dtopen), bt.num2date(trade.dtclose), self.open_size)
                )

    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=FEE)
    cerebro.addstrategy(SmaCross)
    feed = bars.copy()
    feed.index = feed.index.tz_localize(None)
    cerebro.adddata(bt.feeds.PandasData(dataname=feed))
    cerebro.run(runonce=True, preload=True)
    return trades


def compare(reference: Trades, other: Trades, with_size: bool = True) -> str:
    def norm(trades: Trades) -> list[tuple]:
        out = []
        for entry, exit_, size in trades:
            e, x = pd.Timestamp(entry), pd.Timestamp(exit_)
            e = e.tz_localize("UTC") if e.tzinfo is None else e.tz_convert("UTC")
            x = x.tz_localize("UTC") if x.tzinfo is None else x.tz_convert("UTC")
            out.append((e, x, round(abs(size), 6)) if with_size else (e, x))
        return out

    a, b = norm(reference), norm(other)
    if a == b:
        return f"yes ({len(a)} trades)"
    same = sum(1 for x, y in zip(a, b, strict=False) if x == y)
    return f"NO: {len(a)} vs {len(b)} trades, first {same} identical"


RUNNERS: dict[str, Callable[[pd.DataFrame, float], Trades]] = {
    "qts": run_qts,
    "vectorbt": run_vectorbt,
    "backtesting.py": run_backtesting,
    "backtrader": run_backtrader,
}


def bench_case(label: str, bars: pd.DataFrame, cash: float, skip: set[str]) -> None:
    print(f"\n## {label}: {len(bars):,} bars, sma_cross({FAST},{SLOW}), fee {FEE:.2%}")
    times: dict[str, float] = {}
    trades: dict[str, Trades] = {}
    notes: dict[str, str] = {}
    for name, runner in RUNNERS.items():
        if name in skip:
            notes[name] = "skipped (--skip)"
            continue
        try:
            if name in ("qts", "vectorbt"):
                runner(bars.iloc[:5000], cash)  # warm-up: numba compilation and caches
            best = float("inf")
            for _ in range(3 if name in ("qts", "vectorbt") else 1):  # best of 3 when cheap
                start = time.perf_counter()
                trades[name] = runner(bars, cash)
                best = min(best, time.perf_counter() - start)
            times[name] = best
        except Exception as exc:  # report a peer that cannot run, keep benchmarking the others
            notes[name] = f"failed: {type(exc).__name__}: {exc}"[:120]
    base = times.get("qts")
    print(
        f"| {'library':<15}| {'wall s':>9} | {'x qts':>8} "
        "| trades agree with qts (entry, exit, size)"
    )
    print(f"|{'-' * 16}|{'-' * 11}|{'-' * 10}|{'-' * 44}")
    for name in RUNNERS:
        if name not in times:
            print(f"| {name:<15}| {'-':>9} | {'-':>8} | {notes.get(name, '')}")
            continue
        ratio = times[name] / base if base else float("nan")
        agree = "reference" if name == "qts" else compare(trades["qts"], trades[name])
        print(f"| {name:<15}| {times[name]:>9.3f} | {ratio:>8.1f} | {agree}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--skip", default="", help="comma-separated libraries to leave out")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    bench_case("real daily S&P 500 (GSPC 1999-2018)", real_daily(), 1_000_000.0, skip)
    bench_case("synthetic one-minute random walk", synthetic_minutes(args.bars), 1_000_000.0, skip)


if __name__ == "__main__":
    main()
