"""Performance metrics from an equity curve and a trade list.

Conventions follow empyrical (checked in tests): simple per-bar returns, risk-free rate 0,
sample standard deviation, Sortino's downside deviation over all bars, CAGR from the number of
bars divided by the bars per year, alpha annualised geometrically, beta = cov / var against
buy-and-hold of the same symbols.

Bars per year: 252 sessions for stocks, 365 days for crypto; intraday bars scale by the bars
in a session (stocks: measured from the data, one session a day) or in a day (crypto: 24 h).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.curve import any_weekend, regular_spacing

_TF = re.compile(r"^(\d+)\s*(s|m|min|h|d|w|mo|M)$")
_TF_SECONDS = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
    "mo": 2592000,
    "M": 2592000,
}


def timeframe_seconds(timeframe: str) -> float:
    match = _TF.match(timeframe.strip())
    if not match:
        from qts.core.errors import ValidationError

        raise ValidationError(f"unrecognised timeframe {timeframe!r} (e.g. 1m, 5m, 1h, 1d)")
    return int(match.group(1)) * _TF_SECONDS[match.group(2)]


def infer_asset_class(index: pd.DatetimeIndex) -> str:
    """Crypto trades on weekends; stock sessions do not."""
    # asi8 counts from the UTC epoch for tz-aware indexes too.
    return "crypto" if any_weekend(index.as_unit("ns").asi8) else "stock"


def periods_per_year(
    index: pd.DatetimeIndex, timeframe: str | None = None, asset_class: str = "auto"
) -> float:
    if asset_class == "auto":
        asset_class = infer_asset_class(index)
    if timeframe:
        seconds = timeframe_seconds(timeframe)
    elif len(index) > 1:
        ns = index.as_unit("ns").asi8
        step = regular_spacing(ns)  # evenly spaced: the median without sorting a million gaps
        seconds = (step if step > 0 else float(np.median(np.diff(ns)))) / 1e9
    else:
        seconds = 86400.0
    if seconds >= 86400:
        days = seconds / 86400
        if asset_class == "crypto":
            return 365.0 / days
        if days >= 28:
            return 12.0 * 30 / days if days < 300 else 1.0
        if days >= 7:
            return 52.0 * 7 / days
        return 252.0 / days
    if asset_class == "crypto":
        return 365.0 * 86400 / seconds
    # Stocks intraday: bars per session measured from the data (falls back to 6.5 hours).
    per_day = pd.Series(1, index=index).groupby(index.normalize()).size()
    per_session = float(per_day.median()) if len(per_day) > 2 else 23400 / seconds
    return 252.0 * max(per_session, 1.0)


def drawdown(equity: pd.Series) -> pd.Series:
    return equity / equity.cummax() - 1.0


def max_drawdown_duration(equity: pd.Series) -> tuple[int, float]:
    """Longest run of bars below a previous peak: (bars, days from the peak)."""
    values = equity.to_numpy(dtype=float)
    if len(values) == 0:
        return 0, 0.0
    at_peak = values >= np.maximum.accumulate(values)
    peak_pos = np.maximum.accumulate(np.where(at_peak, np.arange(len(values)), 0))
    under = np.arange(len(values)) - peak_pos
    worst = int(np.argmax(under))
    if under[worst] == 0:
        return 0, 0.0
    span = equity.index[worst] - equity.index[peak_pos[worst]]
    return int(under[worst]), span.total_seconds() / 86400


def return_metrics(
    returns: pd.Series, ppy: float, benchmark: pd.Series | None = None
) -> dict[str, float]:
    r = returns.to_numpy(dtype=float)
    n = len(r)
    out: dict[str, float] = {}
    growth = float(np.prod(1.0 + r)) if n else 1.0
    out["total_return"] = growth - 1.0
    out["cagr"] = growth ** (ppy / n) - 1.0 if n and growth > 0 else float("nan")
    out["annualized_return"] = float(np.mean(r) * ppy) if n else float("nan")
    std = float(np.std(r, ddof=1)) if n > 1 else float("nan")
    out["volatility"] = std * math.sqrt(ppy)
    out["sharpe"] = float(np.mean(r) / std * math.sqrt(ppy)) if n > 1 and std > 0 else float("nan")
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(ppy) if n else 0.0
    out["sortino"] = float(np.mean(r) * ppy / downside) if n > 1 and downside > 0 else float("nan")
    wealth = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    mdd = float(np.min(wealth / peak - 1.0)) if n else 0.0
    out["max_drawdown"] = mdd
    out["calmar"] = out["cagr"] / abs(mdd) if mdd < 0 else float("nan")
    if benchmark is not None and n > 1:
        b = benchmark.to_numpy(dtype=float)
        var = float(np.mean((b - b.mean()) ** 2))
        beta = float(np.mean((r - r.mean()) * (b - b.mean())) / var) if var > 0 else float("nan")
        alpha = (
            float((1.0 + np.mean(r - beta * b)) ** ppy - 1.0) if np.isfinite(beta) else float("nan")
        )
        out["alpha"], out["beta"] = alpha, beta
        out["benchmark_return"] = float(np.prod(1.0 + b) - 1.0)
    return out


def trade_metrics(trades: pd.DataFrame) -> dict[str, float]:
    closed = trades[trades["status"] == "closed"] if len(trades) else trades
    n = len(closed)
    out: dict[str, float] = {"trades": float(n), "open_trades": float(len(trades) - n)}
    if n == 0:
        for key in (
            "win_rate",
            "profit_factor",
            "expectancy",
            "avg_trade_return",
            "best_trade_return",
            "worst_trade_return",
            "avg_trade_pnl",
        ):
            out[key] = float("nan")
        return out
    pnl = closed["pnl"].to_numpy(dtype=float)
    ret = closed["return"].to_numpy(dtype=float)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    out["win_rate"] = len(wins) / n
    out["profit_factor"] = float(wins.sum() / -losses.sum()) if len(losses) else float("inf")
    out["expectancy"] = float(pnl.mean())
    out["avg_trade_pnl"] = float(pnl.mean())
    out["avg_trade_return"] = float(ret.mean())
    out["best_trade_return"] = float(ret.max())
    out["worst_trade_return"] = float(ret.min())
    return out


def clean_number(value: Any) -> Any:
    """JSON-safe float: NaN and infinities become None."""
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
