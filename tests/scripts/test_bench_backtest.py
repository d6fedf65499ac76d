"""Smoke test of benchmarks/bench_backtest.py at a tiny size: every section prints, qts and
backtesting.py (a dev dependency) agree trade for trade, missing peers are reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_backtest_runs_small() -> None:
    args = ["--bars", "6000", "--repeat", "1", "--engines", "6000", "--memory-bars", "20000",
            "--skip", "backtrader"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_backtest.py"), *args],
        capture_output=True, text=True, timeout=240, env=env, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert out.count("| reference") == 2  # qts rows of both cases
    backtesting_rows = [line for line in out.splitlines() if line.startswith("| backtesting.py  ")]
    assert len(backtesting_rows) == 2 and all("yes (" in row for row in backtesting_rows)
    assert "event fills identical to vectorized: True" in out
    assert "agree with backtesting.py: yes" in out
    assert "## memory: 20,000 bars" in out and "x the input" in out
    assert "skipped (--skip)" in out
