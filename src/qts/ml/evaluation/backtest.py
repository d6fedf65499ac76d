"""Backtest of a model's out-of-sample signal net of costs, beside buy-and-hold and a naive
baseline.

`signal_positions` turns scores into target fractions (the engine's convention: each symbol gets
1/n of equity; the target decided at bar t's close is filled at bar t+1's open).
`backtest_positions` prices targets through the backtest engine (`qts.backtest.engine`) with
the run spec (`BacktestConfig`: the market preset's costs unless given), the same fills as any
strategy backtest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.core.errors import ValidationError
from qts.strategies.base import TargetStrategy


def signal_positions(
    scores: pd.DataFrame, mode: str = "long_flat", threshold: float = 0.0
) -> pd.DataFrame:
    """Scores (index = bar times, columns = symbols; NaN = no forecast) to target fractions."""
    if mode not in ("long_flat", "long_short"):
        raise ValidationError("mode must be long_flat or long_short")
    weight = 1.0 / max(scores.shape[1], 1)
    long = (scores > threshold).astype(float)
    short = (scores < -threshold).astype(float) if mode == "long_short" else 0.0 * long
    return ((long - short) * weight).where(scores.notna(), 0.0)


class _FixedTargets(TargetStrategy):
    """A strategy whose targets were decided elsewhere (a model's out-of-sample signal)."""

    name = "model_signal"

    def __init__(self, targets: pd.DataFrame) -> None:
        super().__init__()
        self._targets = targets

    def target_positions(self, data: pd.DataFrame | Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        return self._targets


def backtest_positions(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    targets: pd.DataFrame,
    config: BacktestConfig | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    timeframe: str | None = None,
) -> dict[str, float]:
    """Net-of-cost performance of `targets` between `start` and `end` (inclusive), run through
    the backtest engine: decided at bar t's close, filled at t+1's open. Without `config`, the
    market preset's costs with fractional sizing, so the figure measures the signal rather
    than share rounding."""
    from dataclasses import replace

    from qts.backtest.engine import run_backtest

    symbols = list(targets.columns)
    if not symbols:
        raise ValidationError("no symbols to backtest")
    hi = end if end is not None else targets.index[-1]
    data = {
        s: bars_by_symbol[s].loc[
            lambda f: f.index <= hi, ["open", "high", "low", "close", "volume"]
        ]
        for s in symbols
    }
    index = data[symbols[0]].index
    for s in symbols[1:]:
        index = index.union(data[s].index)
    lo = start if start is not None else index[0]
    if int(((index >= lo) & (index <= hi)).sum()) < 3:
        raise ValidationError("the backtest period holds fewer than 3 bars")
    config = config or BacktestConfig(fractional=True)
    if timeframe is not None and config.timeframe is None:
        config = replace(config, timeframe=timeframe)
    frame = targets.reindex(index).fillna(0.0)
    result = run_backtest(_FixedTargets(frame), data, config, trade_start=lo)
    m = result.metrics
    out = {
        k: float(v) for k, v in m.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    returns = result.equity.pct_change().fillna(0.0)
    if not np.any(returns.to_numpy()):  # never invested: no risk, no return, Sharpe 0
        out["sharpe"] = out["sortino"] = 0.0
    out["costs_paid"] = float(m.get("fees", 0.0)) / result.config.initial_cash
    out["bars"] = float(len(result.equity))
    return out


def buy_and_hold_targets(symbols: list[str], index: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(1.0 / len(symbols), index=index, columns=symbols)


def naive_momentum_scores(
    bars_by_symbol: Mapping[str, pd.DataFrame], index: pd.DatetimeIndex, horizon: int = 1
) -> pd.DataFrame:
    """The naive forecast: the next move repeats the last `horizon`-bar move."""
    cols = {s: b["close"].pct_change(horizon).reindex(index) for s, b in bars_by_symbol.items()}
    return pd.DataFrame(cols)


def compare_with_baselines(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    scores: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    mode: str = "long_flat",
    timeframe: str | None = None,
    horizon: int = 1,
) -> dict[str, dict[str, float]]:
    """Model, buy-and-hold and naive momentum over the same out-of-sample span, net of costs."""
    symbols = list(scores.columns)
    index = scores.index[(scores.index >= start) & (scores.index <= end)]
    model = backtest_positions(
        bars_by_symbol, signal_positions(scores, mode), start=start, end=end, timeframe=timeframe
    )
    bh = backtest_positions(
        bars_by_symbol, buy_and_hold_targets(symbols, index), start=start, end=end,
        timeframe=timeframe,
    )  # fmt: skip
    naive_scores = naive_momentum_scores({s: bars_by_symbol[s] for s in symbols}, index, horizon)
    naive = backtest_positions(
        bars_by_symbol, signal_positions(naive_scores, mode), start=start, end=end,
        timeframe=timeframe,
    )  # fmt: skip
    return {"model": model, "buy_and_hold": bh, "naive": naive}
