"""Real sample bars and seeded random bars for strategy and backtest tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def sample_path(rel: str) -> Path:
    return SAMPLE / rel


def load_sample(rel: str, rows: int | None = None) -> pd.DataFrame:
    frame = pd.read_csv(SAMPLE / rel)
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True), name="ts")
    bars = frame[["open", "high", "low", "close", "volume"]].astype(float)
    bars.index = index
    return bars.iloc[:rows] if rows else bars


def random_bars(
    n: int = 400, seed: int = 7, start: str = "2024-01-01", freq: str = "1h", vol: float = 0.01
) -> pd.DataFrame:
    """Seeded geometric random walk with consistent OHLC (open = previous close +/- a gap)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    gap = np.exp(rng.normal(0.0, vol / 3, n))
    open_ = np.r_[100.0, close[:-1]] * gap
    spread = np.abs(rng.normal(0.0, vol, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="ts")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": rng.uniform(1, 100, n)},
        index=index,
    )
