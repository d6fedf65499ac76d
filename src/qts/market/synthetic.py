"""Seeded synthetic bars: several correlated symbols with market regimes, volatility clustering
and jumps, at any timeframe. For demos, large tests and benchmarks; the same seed always gives
the same bars.

Model, per bar of length dt (in years):
* a market regime shared by all symbols (bull / bear / sideways), switching after geometric
  durations, sets the drift and scales the volatility;
* log-volatility follows an AR(1) process (a market factor plus an idiosyncratic part), which is
  what makes calm and turbulent stretches cluster;
* shocks are correlated across symbols (equicorrelation `correlation`) and fat-tailed jumps
  arrive as a Poisson process;
* the open is the previous close, high/low extend beyond open/close by a half-normal amount in
  proportion to the bar's volatility, and volume rises with the size of the move.
Bars are continuous in time (a 24/7 market); daily bars are keyed at 00:00 UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qts.market.frames import BAR_COLUMNS, timeframe_ms

YEAR_MS = 365 * 86_400_000


@dataclass(frozen=True)
class Regime:
    name: str
    drift: float  # annual
    vol_scale: float


REGIMES = (Regime("bull", 0.25, 0.8), Regime("bear", -0.35, 1.6), Regime("sideways", 0.0, 1.0))


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """x_t = phi * x_{t-1} + sigma * e_t, vectorised through an exponentially weighted mean."""
    shocks = pd.Series(rng.standard_normal(n) * sigma)
    smoothed = shocks.ewm(alpha=1.0 - phi, adjust=False).mean().to_numpy()
    return smoothed / (1.0 - phi)


def regime_path(rng: np.random.Generator, n: int, mean_duration: float) -> np.ndarray:
    """Regime index per bar; durations are geometric with the given mean."""
    out = np.empty(n, dtype=np.int64)
    pos, current = 0, int(rng.integers(len(REGIMES)))
    while pos < n:
        length = int(rng.geometric(1.0 / max(mean_duration, 1.0)))
        out[pos : pos + length] = current
        pos += length
        current = int((current + rng.integers(1, len(REGIMES))) % len(REGIMES))
    return out


def generate_bars(
    symbols: int | Sequence[str] = 3,
    n_bars: int = 1000,
    timeframe: str = "1m",
    *,
    start: str | pd.Timestamp = "2024-01-01",
    seed: int = 0,
    correlation: float = 0.6,
    annual_vol: float = 0.5,
    jumps_per_year: float = 6.0,
    start_price: float = 100.0,
) -> dict[str, pd.DataFrame]:
    """Bars for each symbol (names `SYN0`, `SYN1`, … when `symbols` is a count)."""
    names = [f"SYN{i}" for i in range(symbols)] if isinstance(symbols, int) else list(symbols)
    k = len(names)
    if k == 0 or n_bars <= 0:
        raise ValueError("need at least one symbol and one bar")
    if not -1.0 / max(k - 1, 1) < correlation < 1.0:
        raise ValueError("correlation must be in (-1/(k-1), 1)")
    rng = np.random.default_rng(seed)
    step_ms = timeframe_ms(timeframe)
    dt = step_ms / YEAR_MS

    regimes = regime_path(rng, n_bars, mean_duration=max(50.0, n_bars / 12))
    drift = np.array([r.drift for r in REGIMES])[regimes]
    vol_scale = np.array([r.vol_scale for r in REGIMES])[regimes]

    # Persistence per bar is tuned so volatility clusters last a similar number of bars at any tf.
    market_logvol = _ar1(rng, n_bars, phi=0.985, sigma=0.06)
    corr = np.full((k, k), correlation) + np.eye(k) * (1.0 - correlation)
    chol = np.linalg.cholesky(corr)
    shocks = rng.standard_normal((n_bars, k)) @ chol.T

    base = start_price * np.exp(rng.normal(0.0, 0.8, size=k))
    index = pd.date_range(
        pd.Timestamp(start, tz="UTC"),
        periods=n_bars,
        freq=pd.Timedelta(milliseconds=step_ms),
        name="ts",
    ).as_unit("ns")
    out: dict[str, pd.DataFrame] = {}
    for j, name in enumerate(names):
        sym_vol = annual_vol * np.exp(rng.normal(0.0, 0.25))
        logvol = market_logvol + _ar1(rng, n_bars, phi=0.97, sigma=0.04)
        sigma = sym_vol * vol_scale * np.exp(logvol - logvol.std() ** 2 / 2)
        bar_sigma = sigma * np.sqrt(dt)
        jumps = rng.random(n_bars) < jumps_per_year * dt
        jump_size = np.where(jumps, rng.standard_t(3, n_bars) * 4 * bar_sigma.mean() + 0.0, 0.0)
        log_ret = (drift - 0.5 * sigma**2) * dt + bar_sigma * shocks[:, j] + jump_size
        close = base[j] * np.exp(np.cumsum(log_ret))
        open_ = np.empty(n_bars)
        open_[0] = base[j]
        open_[1:] = close[:-1]
        wick = np.abs(rng.standard_normal((n_bars, 2))) * bar_sigma[:, None] * 0.6
        high = np.maximum(open_, close) * np.exp(wick[:, 0])
        low = np.minimum(open_, close) * np.exp(-wick[:, 1])
        move = np.abs(log_ret) / np.maximum(bar_sigma, 1e-12)
        volume = 1_000.0 * np.exp(rng.normal(0.0, 0.35, n_bars)) * (1.0 + 0.8 * move)
        frame = pd.DataFrame(
            np.column_stack([open_, high, low, close, np.round(volume, 4)]),
            index=index,
            columns=list(BAR_COLUMNS),
        )
        out[name] = frame
    return out
