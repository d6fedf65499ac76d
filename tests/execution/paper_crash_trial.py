"""Paper-session crash trials: `qts paper --replay` in a child process, killed (SIGKILL) at a
random or a chosen moment, run again to the end, and compared with an uninterrupted run: orders,
fills, positions and cash must be identical."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from qts.db import Database
from qts.db.models import Fill, Order, Position
from qts.db.models import Strategy as StrategyRow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src" / "qts" / "sample_data" / "kr_daily"
SYMBOLS = ("005930", "000660")
NAME = "crash"
PAPER = ["paper", "--strategy", "sma_cross", "--param", "fast=3", "--param", "slow=8"]
PAPER += [a for s in SYMBOLS for a in ("--symbol", s)] + ["--replay", "--name", NAME]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QTS_DATABASE_URL", "QTS_REDIS_URL")}
    env["QTS_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def _start(data_dir: Path, args: list[str], kill_at: str | None = None) -> subprocess.Popen[str]:
    module = ["-m", "qts.cli"] if kill_at is None else ["-m", "tests.execution.paper_crash_child"]
    return subprocess.Popen(
        [sys.executable, *module, *([kill_at] if kill_at else []), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(data_dir),
    )


def prepare(template: Path) -> Path:
    """A data directory with the sample bars of SYMBOLS stored, to copy for each run."""
    for symbol in SYMBOLS:
        args = ["data", "import", str(SAMPLE / f"{symbol}.csv"), "--symbol", symbol]
        p = _start(template, [*args, "--timeframe", "1d"])
        assert p.wait(120) == 0, p.stderr.read() if p.stderr else ""
    return template


def snapshot(data_dir: Path) -> dict[str, Any]:
    """Orders, fills, positions and cash of the session, without wall-clock times."""
    db = Database(f"sqlite:///{data_dir / 'qts.db'}")
    with db.session() as s:
        orders = {
            o.client_order_id: (o.side, o.type, o.quantity, o.status, o.filled_quantity,
                                o.average_fill_price, o.limit_price, o.stop_price)
            for o in s.scalars(select(Order))
        }  # fmt: skip
        fills = {
            f.fill_id: (f.side, f.quantity, f.price, f.fee, f.realized_pnl, f.ts.isoformat())
            for f in s.scalars(select(Fill))
        }
        positions = {
            p.symbol: (p.quantity, p.average_price, p.realized_pnl, p.fees)
            for p in s.scalars(select(Position))
        }
        row = s.scalar(select(StrategyRow).where(StrategyRow.name == NAME))
        runtime = dict(row.runtime_state or {}) if row is not None else {}
    db.dispose()
    runner = runtime.get("runner") or {}
    return {
        "orders": orders,
        "fills": fills,
        "positions": positions,
        "cash": runtime.get("cash"),
        "bars_seen": runner.get("bars_seen", 0),
    }


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """How many orders, fills and positions differ (missing, extra or changed); cash 0/1."""
    out = {}
    for key in ("orders", "fills", "positions"):
        out[key] = sum(a[key].get(k) != b[key].get(k) for k in set(a[key]) | set(b[key]))
    out["cash"] = int(a["cash"] != b["cash"])
    return out


def run_to_end(data_dir: Path, args: list[str]) -> None:
    p = _start(data_dir, args)
    _out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err


def uninterrupted(template: Path, workdir: Path, extra: list[str]) -> tuple[dict[str, Any], float]:
    shutil.copytree(template, workdir)
    started = time.perf_counter()
    run_to_end(workdir, PAPER + extra)
    return snapshot(workdir), time.perf_counter() - started


def crash_and_resume(
    template: Path,
    workdir: Path,
    extra: list[str],
    rng: random.Random | None = None,
    within_s: float = 0.0,
    kill_at: str | None = None,
) -> dict[str, Any]:
    """Kill a run at a random moment within `within_s` (or at `kill_at`), resume it with the
    same command to the end; returns the state at the kill and the final snapshot."""
    shutil.copytree(template, workdir)
    child = _start(workdir, PAPER + extra, kill_at)
    if kill_at is None:
        assert rng is not None
        time.sleep(rng.uniform(0, within_s))
        child.send_signal(signal.SIGKILL)
    code = child.wait(300)
    at_kill = snapshot(workdir)
    run_to_end(workdir, PAPER + extra)
    return {"killed": code == -signal.SIGKILL, "at_kill": at_kill, "final": snapshot(workdir)}
