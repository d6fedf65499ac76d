"""Fixtures for the feature tests: real sample bars, fundamentals and news known over time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "src" / "qts" / "sample_data"


def load_sample(folder: str, name: str) -> pd.DataFrame:
    path = SAMPLE_DIR / folder / f"{name}.csv"
    try:
        from qts.market.files import load_bars_file
    except ImportError:  # market-data module not there yet: read the canonical layout directly
        df = pd.read_csv(path)
        index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True), name="ts")
        return df.set_axis(index).astype("float64")
    bars = load_bars_file(path)
    bars.attrs.clear()
    return bars


def kr_symbols() -> list[str]:
    return sorted(p.stem for p in (SAMPLE_DIR / "kr_daily").glob("*.csv"))


@pytest.fixture(scope="session")
def kr_bars() -> dict[str, pd.DataFrame]:
    return {s: load_sample("kr_daily", s) for s in kr_symbols()}


@pytest.fixture(scope="session")
def crypto_bars() -> dict[str, pd.DataFrame]:
    # The last ~3 months of hourly bars keep the tests fast; the checker is the same.
    return {s: load_sample("crypto_1h", s).iloc[-2000:] for s in ("BTC_USDT", "ETH_USDT")}


def make_fundamentals(bars: pd.DataFrame) -> pd.DataFrame:
    """Quarterly figures announced ~45 days after each quarter end, one restatement, during the
    bars' span: values that change over time, so an early join of a late figure shows."""
    start, end = bars.index[0], bars.index[-1]
    quarters = pd.date_range(start - pd.Timedelta(days=400), end, freq="QE")
    rows = []
    for i, q in enumerate(quarters):
        known = (q + pd.Timedelta(days=45)).tz_localize(None).tz_localize("UTC")
        known += pd.Timedelta(hours=7)
        eps = 1000.0 + 150.0 * i
        rows += [
            ("eps", q.date(), known, eps),
            ("bps", q.date(), known, 40000.0 + 500.0 * i),
            ("roe", q.date(), known, 0.08 + 0.005 * i),
            ("dps", q.date(), known, 361.0),
        ]
    q = quarters[len(quarters) // 2]
    restated = (q + pd.Timedelta(days=120)).tz_localize(None).tz_localize("UTC")
    rows.append(("eps", q.date(), restated, 777.0))
    return pd.DataFrame(rows, columns=["metric", "period_end", "known_at", "value"])


def make_news(bars: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    headlines = [
        "Shares surge after record quarterly profit beats estimates",
        "Company faces lawsuit, stock plunges on weak guidance",
        "Analysts upgrade the stock, citing strong demand",
        "Regulators fine the firm over accounting failures",
        "Quarterly results in line with expectations",
    ]
    span = (bars.index[-1] - bars.index[0]).total_seconds()
    n = max(20, len(bars) // 3)
    offsets = np.sort(rng.uniform(0, span, n))
    known = bars.index[0] + pd.to_timedelta(offsets, unit="s")
    return pd.DataFrame(
        {"known_at": known, "headline": [headlines[i % len(headlines)] for i in range(n)]}
    )


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[tuple[str, str]]:
    """A unique key prefix on the test Redis; every key under it is deleted afterwards."""
    import redis

    prefix = f"qts-test-features-{uuid.uuid4().hex[:10]}"
    yield redis_url, prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
