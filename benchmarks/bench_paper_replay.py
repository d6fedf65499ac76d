"""Paper replay speed: `qts paper --replay` at full speed beside `qts backtest` on the same
stored bars (SQLite, a fresh data directory), on the BTC/USDT 1h sample and a long synthetic
series. Both commands run as a user runs them (a process each, start-up included), after one
untimed `qts backtest` warms the disk cache and bytecode; the session's own replay time is
also timed in-process. "rows/bar" is the bar rows handed to the strategy per bar (1.0 for a
strategy stepped incrementally: the decision step does not grow with the history).

    python benchmarks/bench_paper_replay.py [--bars 100000] [--strategy sma_cross] [--param fast=10]

Targets (issue 17): BTC/USDT 1h paper replay <= 3x the backtest's wall time; >= 5,000 bars/s
on the 100k-bar series.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
BTC = ROOT / "src" / "qts" / "sample_data" / "crypto_1h" / "BTC_USDT.csv"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTS_")}
    env["QTS_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def qts(data_dir: Path, *args: str) -> float:
    """Run `qts ARGS` in a fresh process; its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "qts.cli", *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"qts {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def write_synthetic(path: Path, bars: int) -> Path:
    import pandas as pd

    from qts.market.synthetic import generate_bars

    # Hourly bars ending a month ago: the importer refuses bars in the future.
    start = pd.Timestamp.now().floor("D") - pd.Timedelta(hours=bars) - pd.Timedelta(days=30)
    frame = generate_bars(["SYN"], n_bars=bars, timeframe="1h", start=start, seed=17)["SYN"]
    frame.index = frame.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame.index.name = "timestamp"
    frame[["open", "high", "low", "close", "volume"]].to_csv(path)
    return path


def session_outcome(data_dir: Path, name: str) -> dict[str, Any]:
    """Bars, rows handed and orders of a stored paper session."""
    from sqlalchemy import func, select

    from qts.db import Database
    from qts.db.models import Order
    from qts.db.models import Strategy as StrategyRow

    db = Database(f"sqlite:///{data_dir / 'qts.db'}")
    with db.session() as s:
        row = s.scalar(select(StrategyRow).where(StrategyRow.name == name))
        assert row is not None, name
        runner = (row.runtime_state or {}).get("runner", {})
        orders = s.scalar(select(func.count()).where(Order.strategy_id == row.id))
    db.dispose()
    return {"bars": runner["bars_seen"], "rows": runner["rows_handed"], "orders": orders or 0}


def in_process_replay(data_dir: Path, name: str, spec: list[str], symbol: str) -> float:
    """The session's replay alone (no process start-up), in this process."""
    from qts.cli.common import app_context
    from qts.cli.trading_cmd import _stored_strategy
    from qts.config import reset_settings_cache
    from qts.services.trading.sessions import FeedSpec, TradingService

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_env(data_dir))  # the embedded mode, as the CLI runs got
    reset_settings_cache()
    try:
        ctx = app_context()
        trading = TradingService(ctx)
        sid = _stored_strategy(ctx, name, spec[0], spec[1:], [symbol], "1h")
        started = time.perf_counter()
        trading.start(sid, "bench", FeedSpec("replay"))
        trading.sessions[sid].thread.join()
        seconds = time.perf_counter() - started
        ctx.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings_cache()
    if trading.sessions[sid].error:
        raise RuntimeError(trading.sessions[sid].error)
    return seconds


def bench_set(
    data_dir: Path, csv: Path, symbol: str, strategy: str, params: list[str], warm: bool = True
) -> dict:  # type: ignore[type-arg]
    qts(data_dir, "data", "import", str(csv), "--symbol", symbol, "--timeframe", "1h")
    common = ["--strategy", strategy, "--symbol", symbol, "--timeframe", "1h"]
    common += [a for p in params for a in ("--param", p)]
    if warm:
        qts(data_dir, "backtest", *common)  # warm-up, untimed
    backtest = qts(data_dir, "backtest", *common)
    name = f"bench-{symbol.replace('/', '_')}"
    paper = qts(data_dir, "paper", *common, "--replay", "--name", name)
    outcome = session_outcome(data_dir, name)
    inproc = in_process_replay(data_dir, f"{name}-inproc", [strategy, *params], symbol)
    return {"symbol": symbol, "backtest": backtest, "paper": paper, "inproc": inproc, **outcome}


def main(argv: list[str] | None = None) -> list[dict]:  # type: ignore[type-arg]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=100_000, help="synthetic series length")
    parser.add_argument("--btc-rows", type=int, default=0, help="first N BTC rows (0: all)")
    parser.add_argument("--strategy", default="sma_cross")
    parser.add_argument("--param", action="append", default=[], help="k=v, repeatable")
    parser.add_argument("--only", choices=("btc", "synthetic"), help="one series only")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed backtest")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="qts-bench-paper-") as tmp:
        root = Path(tmp)
        btc = BTC
        if args.btc_rows:
            btc = root / "BTC_USDT.csv"
            lines = BTC.read_text().splitlines()[: args.btc_rows + 1]
            btc.write_text("\n".join(lines) + "\n")
        sets = []
        if args.only != "synthetic":
            sets.append((btc, "BTC/USDT"))
        if args.only != "btc":
            sets.append((write_synthetic(root / "SYN.csv", args.bars), "SYN/USDT"))
        for csv, symbol in sets:
            run = bench_set(
                root / "var", csv, symbol, args.strategy, args.param, not args.no_warmup
            )
            results.append(run)
    table = Table(title=f"paper replay vs backtest, {args.strategy} {' '.join(args.param)}")
    for col in ("series", "bars", "orders", "qts backtest s", "qts paper --replay s", "ratio",
                "paper bars/s", "replay only s", "replay bars/s", "rows/bar"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r["symbol"],
            f"{r['bars']:,}",
            f"{r['orders']:,}",
            f"{r['backtest']:.2f}",
            f"{r['paper']:.2f}",
            f"{r['paper'] / r['backtest']:.2f}x",
            f"{r['bars'] / r['paper']:,.0f}",
            f"{r['inproc']:.2f}",
            f"{r['bars'] / r['inproc']:,.0f}",
            f"{r['rows'] / max(r['bars'], 1):.2f}",
        )
    Console(width=200).print(table)
    return results


if __name__ == "__main__":
    main()
