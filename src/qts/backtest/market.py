"""Bars of one or more symbols aligned on one time axis, and targets aligned for execution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.core.errors import ValidationError
from qts.strategies.base import Universe, as_universe


@dataclass(slots=True)
class MarketArrays:
    """(n, k) arrays over the union of bar times; NaN where a symbol has no bar."""

    index: pd.DatetimeIndex
    symbols: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    mark: np.ndarray  # close forward-filled, for marking positions between a symbol's bars

    @classmethod
    def from_universe(cls, data: pd.DataFrame | Universe) -> MarketArrays:
        universe = as_universe(data)
        symbols = sorted(universe)  # the order fills are processed in, same in both engines
        index = universe[symbols[0]].index
        for sym in symbols[1:]:
            index = index.union(universe[sym].index)
        fields = {}
        for name in ("open", "high", "low", "close"):
            frame = pd.DataFrame(
                {s: universe[s][name].astype(float).reindex(index) for s in symbols}
            )
            fields[name] = frame.to_numpy(dtype=np.float64)
        close = fields["close"]
        bad = ~np.isnan(close) & (close <= 0)
        if bad.any():
            raise ValidationError("bars contain non-positive close prices")
        mark = pd.DataFrame(close).ffill().to_numpy()
        return cls(index=pd.DatetimeIndex(index), symbols=symbols, mark=mark, **fields)

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape


@dataclass(slots=True)
class ExecutionPlan:
    """What the engines execute at each bar i: target `want`, whether it is new (`flag`),
    the reference price (`price`: open or close) and the slippage fraction (`slip`)."""

    want: np.ndarray
    flag: np.ndarray
    price: np.ndarray
    slip: np.ndarray


def plan_execution(
    targets: pd.DataFrame,
    market: MarketArrays,
    config: BacktestConfig,
    trade_start: int = 0,
) -> ExecutionPlan:
    """Shift decision-time targets to their execution bars (t+1 open, or t close).

    A symbol's target is read at that symbol's own bars only: where it has no bar (a holiday of
    its exchange, a weekend next to crypto) there is no new information, so the target decided
    at its last bar stays in force and nothing is traded for it. Targets decided before
    `trade_start` (a warm-up period) are treated as flat.
    """
    has_bar = ~np.isnan(market.close)
    aligned = targets
    if not (targets.index.equals(market.index) and list(targets.columns) == market.symbols):
        aligned = targets.reindex(index=market.index, columns=market.symbols)
    decided = np.array(aligned.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    decided[~has_bar] = np.nan
    decided = np.nan_to_num(ffill_rows(decided), nan=0.0)
    if not np.isfinite(decided).all():
        raise ValidationError("strategy produced non-finite targets")
    if trade_start > 0:
        decided[:trade_start] = 0.0
    n, k = decided.shape
    slip_decided = np.full((n, k), np.nan)
    for s in range(k):
        slip_decided[has_bar[:, s], s] = config.slippage.fractions(market.close[has_bar[:, s], s])
    slip_decided = np.nan_to_num(ffill_rows(slip_decided), nan=0.0)
    prev = np.vstack([np.zeros((1, k)), decided[:-1]])
    changed = has_bar.copy() if config.rebalance == "every_bar" else decided != prev
    if config.fill_at == "close":
        return ExecutionPlan(want=decided, flag=changed, price=market.close, slip=slip_decided)
    want = np.vstack([np.zeros((1, k)), decided[:-1]])
    flag = np.vstack([np.zeros((1, k), dtype=bool), changed[:-1]])
    slip = np.vstack([np.zeros((1, k)), slip_decided[:-1]])
    return ExecutionPlan(want=want, flag=flag, price=market.open, slip=slip)


def ffill_rows(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down each column of a 2-D array (leading NaN stays NaN)."""
    n = values.shape[0]
    last = np.where(np.isnan(values), 0, np.arange(n)[:, None])
    np.maximum.accumulate(last, axis=0, out=last)
    return np.take_along_axis(values, last, axis=0)
