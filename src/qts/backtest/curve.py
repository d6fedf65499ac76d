"""Compiled passes that turn an engine's positions and cash into the result's curves and figures.

One pass builds the equity and benchmark curves, a second computes every return-based metric
from them (the same definitions as `qts.backtest.metrics.return_metrics`, which tests hold
against empyrical), so a run over millions of bars builds its result without pandas.
Also: forward-fill and the execution plan's shift, shared by both engines.
"""

from __future__ import annotations

import math

import numpy as np

from qts.backtest.kernel import _jit


def curves_kernel(
    cash: np.ndarray,  # (n,)
    qty: np.ndarray,  # (n, k)
    mark: np.ndarray,  # (n, k) NaN before a symbol's first bar
    growth: np.ndarray,  # (n, k) marks for the benchmark (adjusted; `mark` when no actions)
    start: int,
    cash0: float,
    equity: np.ndarray,  # (n - start,) out
    benchmark: np.ndarray,  # (n - start,) out: equal-weight buy-and-hold, starting at cash0
) -> None:
    n, k = qty.shape
    level = cash0
    for i in range(start, n):
        value = cash[i]
        step = 0.0
        for s in range(k):
            m = mark[i, s]
            if not math.isnan(m):
                value += qty[i, s] * m
                if i > start and not math.isnan(growth[i - 1, s]):
                    step += growth[i, s] / growth[i - 1, s] - 1.0
        equity[i - start] = value
        level *= 1.0 + step / k
        benchmark[i - start] = level


def stats_kernel(
    equity: np.ndarray, benchmark: np.ndarray, cash0: float, ppy: float, out: np.ndarray
) -> None:
    """out = [total_return, cagr, annualized_return, volatility, sharpe, sortino, max_drawdown,
    calmar, alpha, beta, benchmark_return, dd_bars, dd_peak_row, mean_equity]."""
    n = len(equity)
    nan = np.nan
    out[:] = nan
    if n == 0:
        return
    total = 0.0
    down = 0.0
    growth = 1.0
    wealth_peak = 1.0
    mdd = 0.0
    b_total = 0.0
    eq_sum = 0.0
    peak_value = -np.inf
    peak_row = 0
    dd_bars = 0
    dd_peak = 0
    prev = cash0
    prev_b = cash0
    for i in range(n):
        r = equity[i] / prev - 1.0
        b = benchmark[i] / prev_b - 1.0
        prev, prev_b = equity[i], benchmark[i]
        total += r
        b_total += b
        down += min(r, 0.0) ** 2
        growth *= 1.0 + r
        wealth_peak = max(wealth_peak, growth)
        mdd = min(mdd, growth / wealth_peak - 1.0)
        eq_sum += equity[i]
        if equity[i] >= peak_value:
            peak_value, peak_row = equity[i], i
        elif i - peak_row > dd_bars:
            dd_bars, dd_peak = i - peak_row, peak_row
    mean, b_mean = total / n, b_total / n
    var = 0.0
    b_var = 0.0
    cov = 0.0
    prev, prev_b = cash0, cash0
    for i in range(n):
        r = equity[i] / prev - 1.0 - mean
        b = benchmark[i] / prev_b - 1.0 - b_mean
        prev, prev_b = equity[i], benchmark[i]
        var += r * r
        b_var += b * b
        cov += r * b
    out[0] = growth - 1.0
    out[1] = growth ** (ppy / n) - 1.0 if growth > 0 else nan
    out[2] = mean * ppy
    if n > 1:
        std = math.sqrt(var / (n - 1))
        out[3] = std * math.sqrt(ppy)
        out[4] = mean / std * math.sqrt(ppy) if std > 0 else nan
        downside = math.sqrt(down / n) * math.sqrt(ppy)
        out[5] = mean * ppy / downside if downside > 0 else nan
        if b_var > 0:
            beta = cov / b_var
            out[9] = beta
            out[8] = (1.0 + (mean - beta * b_mean)) ** ppy - 1.0
        out[10] = benchmark[n - 1] / cash0 - 1.0
    out[6] = mdd
    out[7] = out[1] / abs(mdd) if mdd < 0 else nan
    out[11] = dd_bars
    out[12] = dd_peak
    out[13] = eq_sum / n


def ffill_kernel(values: np.ndarray, fill: float) -> None:
    """In place: NaN takes the last value above it in its column (`fill` before any)."""
    n, k = values.shape
    for s in range(k):
        last = fill
        for i in range(n):
            v = values[i, s]
            if math.isnan(v):
                values[i, s] = last
            else:
                last = v


def plan_kernel(
    decided: np.ndarray,  # (n, k) targets at decision bars (NaN: keep the last)
    close: np.ndarray,  # (n, k) NaN where a symbol has no bar
    every_bar: bool,
    next_open: bool,
    trade_start: int,
    want: np.ndarray,  # (n, k) out
    flag: np.ndarray,  # (n, k) out
) -> int:
    """A symbol's target is read at its own bars only; with `next_open` it executes one row
    later. Returns the number of non-finite targets seen (the caller refuses them)."""
    n, k = decided.shape
    bad = 0
    shift = 1 if next_open else 0
    for s in range(k):
        last = 0.0
        prev = 0.0
        if next_open and n:
            want[0, s] = 0.0
            flag[0, s] = False
        for i in range(n):
            has_bar = not math.isnan(close[i, s])
            if has_bar:
                v = decided[i, s]
                if math.isinf(v):
                    bad += 1
                elif not math.isnan(v):
                    last = v
            current = last if i >= trade_start else 0.0
            changed = has_bar if every_bar else current != prev
            prev = current
            if i + shift < n:
                want[i + shift, s] = current
                flag[i + shift, s] = changed
    return bad


def regular_step(ns: np.ndarray) -> int:
    """The spacing of an evenly spaced time axis (ns), or -1 when spacings differ."""
    if len(ns) < 2:
        return -1
    step = ns[1] - ns[0]
    for i in range(2, len(ns)):
        if ns[i] - ns[i - 1] != step:
            return -1
    return step


def has_weekend(ns: np.ndarray) -> bool:
    day = 86_400_000_000_000
    for i in range(len(ns)):  # noqa: SIM110 - a plain loop compiles; a generator does not
        if (ns[i] // day + 3) % 7 >= 5:  # 1970-01-01 was a Thursday; Monday = 0
            return True
    return False


curves = _jit(curves_kernel)
stats = _jit(stats_kernel)
ffill = _jit(ffill_kernel)
plan = _jit(plan_kernel)
regular_spacing = _jit(regular_step)
any_weekend = _jit(has_weekend)

STAT_NAMES = (
    "total_return",
    "cagr",
    "annualized_return",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "alpha",
    "beta",
    "benchmark_return",
)
