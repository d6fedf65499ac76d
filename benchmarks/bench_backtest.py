"""qts backtest speed and trade-list agreement vs vectorbt (numba and Rust), backtesting.py and
backtrader; qts' event-driven engine; memory of a 10M-bar run.

Same strategy everywhere: sma_cross long-only (buy on fast SMA crossing above slow, close on the
cross down; cross = a[t] > b[t] and a[t-1] <= b[t-1]), decided at bar t's close, filled at bar
t+1's open, all-in with whole units sized at the fill price: floor(cash / (open * (1 + fee))).
SMAs come from TA-Lib in every library.

Fairness: every library gets the same bars with the same plain (time-zone-naive) index; every
library runs once untimed on the first 5,000 bars (imports, numba compilation, caches) and is
then timed the same number of times (best of `--repeat`).

Cases: a real daily series (src/qts/sample_data/us_index_daily/GSPC.csv, fee 0.1%) and
1,000,000 synthetic one-minute bars (seeded random walk made here, fee 0.01%, cash 100M: at 0.1%
a side the ~5,000 round trips of a random walk drain the account below one unit by bar ~644k,
leaving a third of the run with nothing to trade; the table prints where the last trade opens).

Engines (`--engines`): qts' event-driven engine on the same target strategy (fills checked
identical to the vectorized run) and a per-bar Python `OrderStrategy` (numpy history views,
its SMAs kept as running sums like TA-Lib's) against backtesting.py's bars/s on the same bars.

Memory (`--memory-bars`, 0 to skip): tracemalloc peak of one qts vectorized run (result
included) against the bytes of its input arrays (open, high, low, close, volume).

    python benchmarks/bench_backtest.py [--bars 1000000] [--repeat 3] [--skip backtrader]
        [--engines 200000] [--memory-bars 10000000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import talib

FAST, SLOW = 10, 30
ROOT = Path(__file__).resolve().parents[1]
Trades = list[tuple[pd.Timestamp, pd.Timestamp, float]]


def synthetic_minutes(n: int, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0.0, 0.0002, n))
    wick = np.abs(rng.normal(0.0, 0.0004, n)) * close
    index = pd.date_range("2020-01-01", periods=n, freq="1min", name="ts")
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
    bars.index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"]), name="ts")
    return bars


def crosses(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fast, slow = talib.SMA(close, FAST), talib.SMA(close, SLOW)
    up = np.zeros(len(close), bool)
    down = np.zeros(len(close), bool)
    with np.errstate(invalid="ignore"):
        up[1:] = (fast[1:] > slow[1:]) & (fast[:-1] <= slow[:-1])
        down[1:] = (slow[1:] > fast[1:]) & (slow[:-1] <= fast[:-1])
    return up, down


def run_qts(bars: pd.DataFrame, cash: float, fee: float, engine: str = "auto") -> Trades:
    from qts.backtest import BacktestConfig, run_backtest
    from qts.strategies import create_strategy

    strategy = create_strategy("sma_cross", {"fast": FAST, "slow": SLOW})
    config = BacktestConfig(cash=cash, commission=fee, sell_tax=0.0, engine=engine)
    t = run_backtest(strategy, bars, config).trades
    t = t[t["status"] == "closed"]
    return list(zip(t["entry_time"], t["exit_time"], t["size"].astype(float), strict=True))


def vectorbt_runner(engine: str) -> Callable[[pd.DataFrame, float, float], Trades]:
    def run(bars: pd.DataFrame, cash: float, fee: float) -> Trades:
        import vectorbt as vbt

        vbt.settings["engine"] = engine  # the trade records use the same engine
        up, down = crosses(bars["close"].to_numpy())
        pf = vbt.Portfolio.from_signals(  # signals at t execute at t+1's open
            close=bars["close"],
            entries=pd.Series(np.r_[False, up[:-1]], index=bars.index),
            exits=pd.Series(np.r_[False, down[:-1]], index=bars.index),
            price=bars["open"],
            fees=fee,
            size=np.inf,
            size_granularity=1,
            init_cash=cash,
            freq="1min",
            engine=engine,
        )
        rec = pf.trades.records
        rec = rec[rec["status"] == 1]
        idx = bars.index
        return [
            (idx[e], idx[x], float(s))
            for e, x, s in zip(rec["entry_idx"], rec["exit_idx"], rec["size"], strict=True)
        ]

    return run


def run_backtesting(bars: pd.DataFrame, cash: float, fee: float) -> Trades:
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
        bt = Backtest(data, SmaCross, cash=cash, commission=fee, finalize_trades=False)
        stats = bt.run()  # its progress bar goes to the swallowed stderr
    t = stats._trades
    return list(zip(t["EntryTime"], t["ExitTime"], t["Size"].astype(float), strict=True))


def run_backtrader(bars: pd.DataFrame, cash: float, fee: float) -> Trades:
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
                size = int(self.broker.getcash() / (self.data.open[0] * (1 + fee)))
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
    cerebro.broker.setcommission(commission=fee)
    cerebro.addstrategy(SmaCross)
    cerebro.adddata(bt.feeds.PandasData(dataname=bars))
    cerebro.run(runonce=True, preload=True)
    return trades


def compare(reference: Trades, other: Trades) -> str:
    def norm(trades: Trades) -> list[tuple]:
        return [(pd.Timestamp(e), pd.Timestamp(x), round(abs(s), 6)) for e, x, s in trades]

    a, b = norm(reference), norm(other)
    if a == b:
        return f"yes ({len(a)} trades)"
    if [t[:2] for t in a] == [t[:2] for t in b]:  # same bars, some sizes differ
        sizes = [abs(x[2] - y[2]) for x, y in zip(a, b, strict=True) if x[2] != y[2]]
        return (
            f"entries and exits yes ({len(a)} trades); size differs on {len(sizes)} "
            f"(by at most {max(sizes):g} units)"
        )
    same = sum(1 for x, y in zip(a, b, strict=False) if x == y)
    return f"NO: {len(a)} vs {len(b)} trades, first {same} identical"


RUNNERS: dict[str, Callable[[pd.DataFrame, float, float], Trades]] = {
    "qts": run_qts,
    "vectorbt (numba)": vectorbt_runner("numba"),
    "vectorbt (rust)": vectorbt_runner("rust"),
    "backtesting.py": run_backtesting,
    "backtrader": run_backtrader,
}


CPU_SECONDS: dict[int, float] = {}  # id(call) -> best CPU seconds of its runs


def best_of(repeat: int, call: Callable[[], object]) -> tuple[float, object]:
    """Best wall seconds of `repeat` runs; the best CPU seconds of this process go to
    CPU_SECONDS (steadier than wall time on a busy machine)."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        out = call()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    CPU_SECONDS[id(call)] = best_cpu
    return best, out


def bench_case(
    label: str, bars: pd.DataFrame, cash: float, fee: float, skip: set[str], repeat: int
) -> dict[str, float]:
    print(f"\n## {label}: {len(bars):,} bars, sma_cross({FAST},{SLOW}), fee {fee:.2%}")
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    trades: dict[str, Trades] = {}
    notes: dict[str, str] = {}
    for name, runner in RUNNERS.items():
        if name in skip or name.split(" ")[0] in skip:
            notes[name] = "skipped (--skip)"
            continue
        try:
            runner(bars.iloc[:5000], cash, fee)  # warm-up, the same for every library

            def timed(r: Callable[[pd.DataFrame, float, float], Trades] = runner) -> Trades:
                return r(bars, cash, fee)

            times[name], out = best_of(repeat, timed)
            cpu[name] = CPU_SECONDS[id(timed)]
            trades[name] = out  # type: ignore[assignment]
        except Exception as exc:  # report a peer that cannot run, keep benchmarking the others
            notes[name] = f"failed: {type(exc).__name__}: {exc}"[:120]
    base, base_cpu = times.get("qts"), cpu.get("qts")
    print(
        f"| {'library':<17}| {'wall s':>9} | {'x qts':>7} | {'CPU s':>8} | {'x qts':>7} "
        "| trades agree with qts (entry, exit, size)"
    )
    print(f"|{'-' * 18}|{'-' * 11}|{'-' * 9}|{'-' * 10}|{'-' * 9}|{'-' * 44}")
    for name in RUNNERS:
        if name not in times:
            print(
                f"| {name:<17}| {'-':>9} | {'-':>7} | {'-':>8} | {'-':>7} | {notes.get(name, '')}"
            )
            continue
        ratio = times[name] / base if base else float("nan")
        cpu_ratio = cpu[name] / base_cpu if base_cpu else float("nan")
        agree = "reference" if name == "qts" else compare(trades["qts"], trades[name])
        print(
            f"| {name:<17}| {times[name]:>9.3f} | {ratio:>7.2f} | {cpu[name]:>8.3f} "
            f"| {cpu_ratio:>7.2f} | {agree}"
        )
    if trades.get("qts"):
        last = bars.index.get_loc(trades["qts"][-1][0])
        print(f"last trade opens at bar {last:,} of {len(bars):,} (best of {repeat} runs each)")
    return times


def bench_engines(bars: pd.DataFrame, cash: float, fee: float, repeat: int) -> None:
    from qts.backtest import BacktestConfig, run_backtest
    from qts.strategies import create_strategy

    print(f"\n## engines: {len(bars):,} one-minute bars, sma_cross({FAST},{SLOW}), fee {fee:.2%}")
    config = BacktestConfig(cash=cash, commission=fee, sell_tax=0.0)
    event = BacktestConfig(cash=cash, commission=fee, sell_tax=0.0, engine="event")
    target = create_strategy("sma_cross", {"fast": FAST, "slow": SLOW})
    head = bars.iloc[:5000]
    rows = []
    for label, call in (
        ("qts vectorized (target)", lambda b: run_backtest(target, b, config)),
        ("qts event engine (target)", lambda b: run_backtest(target, b, event)),
        ("qts per-bar OrderStrategy", lambda b: run_backtest(sma_order_strategy(), b, config)),
        ("backtesting.py (per-bar)", lambda b: run_backtesting(b, cash, fee)),
    ):
        call(head)
        seconds, out = best_of(repeat, lambda c=call: c(bars))
        rows.append((label, seconds, out))
    fills = {label: out.fills for label, _, out in rows[:3]}  # type: ignore[attr-defined]
    same = fills["qts vectorized (target)"].equals(fills["qts event engine (target)"])
    orders = rows[2][2].trades  # type: ignore[attr-defined]
    orders = orders[orders["status"] == "closed"]
    reference = compare(
        run_backtesting(bars, cash, fee),
        list(zip(orders["entry_time"], orders["exit_time"], orders["size"], strict=True)),
    )
    peer = len(bars) / rows[3][1]
    print(f"| {'engine':<27}| {'wall s':>8} | {'bars/s':>11} | {'x backtesting.py':>16} |")
    print(f"|{'-' * 28}|{'-' * 10}|{'-' * 13}|{'-' * 18}|")
    for label, seconds, _ in rows:
        speed = len(bars) / seconds
        print(f"| {label:<27}| {seconds:>8.3f} | {speed:>11,.0f} | {speed / peer:>16.2f} |")
    print(f"event fills identical to vectorized: {same}; per-bar OrderStrategy trades agree with "
          f"backtesting.py: {reference}")  # fmt: skip


def sma_order_strategy():  # type: ignore[no-untyped-def]
    """sma_cross as a per-bar Python `OrderStrategy` over numpy history views."""
    from qts.core.types import OrderIntent, Side
    from qts.strategies import OrderStrategy, StrategyContext, history_arrays

    class SmaCrossOrders(OrderStrategy):
        name = "sma_cross_orders"

        def on_start(self, ctx: StrategyContext) -> None:
            self.fast = self.slow = self.prev_fast = self.prev_slow = float("nan")
            self.sum_fast = self.sum_slow = 0.0

        def on_bar(self, ctx: StrategyContext) -> None:
            close = history_arrays(ctx, "ASSET", SLOW).close
            n = len(close)
            # Running sums in TA-Lib's order (add the newest, read, drop the oldest); `item`
            # gives Python floats, cheaper to add than numpy scalars.
            last = close.item(-1)
            self.sum_fast += last
            self.sum_slow += last
            self.prev_fast, self.prev_slow = self.fast, self.slow
            self.fast = self.sum_fast / FAST if n >= FAST else float("nan")
            self.slow = self.sum_slow / SLOW if n >= SLOW else float("nan")
            if n >= FAST:
                self.sum_fast -= close.item(-FAST)
            if n >= SLOW:
                self.sum_slow -= close.item(-SLOW)
            f, s, f0, s0 = self.fast, self.slow, self.prev_fast, self.prev_slow
            held = ctx.position("ASSET")
            if f > s and f0 <= s0 and not held:
                # All in, sized at the fill price like the others (`target` overrides the 1).
                ctx.submit(OrderIntent("ASSET", Side.BUY, 1.0, meta={"target": 1.0}))
            elif s > f and s0 <= f0 and held:
                ctx.submit(OrderIntent("ASSET", Side.SELL, held))

    return SmaCrossOrders()


def bench_memory(n: int) -> None:
    from qts.backtest import BacktestConfig, run_backtest
    from qts.strategies import create_strategy

    bars = synthetic_minutes(n)
    inputs = sum(bars[c].to_numpy().nbytes for c in ("open", "high", "low", "close", "volume"))
    strategy = create_strategy("sma_cross", {"fast": FAST, "slow": SLOW})
    config = BacktestConfig(cash=1e8, commission=0.0001, sell_tax=0.0)
    run_backtest(strategy, bars.iloc[:5000], config)
    tracemalloc.start()
    start = time.perf_counter()
    result = run_backtest(strategy, bars, config)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\n## memory: {n:,} bars, one vectorized run with its result ({len(result.trades):,} trades)"
    )
    print(f"input arrays {inputs / 2**20:,.0f} MiB; peak allocated during the run "
          f"{peak / 2**20:,.0f} MiB = {peak / inputs:.2f}x the input (target <= 2x); "
          f"{seconds:.2f} s under tracemalloc")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per library (best)")
    parser.add_argument("--skip", default="", help="comma-separated libraries to leave out")
    parser.add_argument("--engines", type=int, default=200_000, help="bars; 0 skips")
    parser.add_argument("--memory-bars", type=int, default=10_000_000, help="0 skips")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    bench_case(
        "real daily S&P 500 (GSPC 1999-2018)", real_daily(), 1_000_000.0, 0.001, skip, args.repeat
    )
    minutes = synthetic_minutes(args.bars)
    bench_case("synthetic one-minute random walk", minutes, 1e8, 0.0001, skip, args.repeat)
    if args.engines:
        bench_engines(minutes.iloc[: args.engines], 1e8, 0.0001, args.repeat)
    if args.memory_bars:
        bench_memory(args.memory_bars)


if __name__ == "__main__":
    main()
