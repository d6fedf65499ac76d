"""Bars of one or more symbols aligned on one time axis, and targets aligned for execution."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from qts.backtest.actions import ActionArrays
from qts.backtest.config import BacktestConfig
from qts.backtest.curve import ffill, plan
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
    # Splits / dividends the engines apply to held positions (none: the plain path).
    actions: ActionArrays = field(default_factory=ActionArrays.empty)
    # Forward-filled adjusted close for the buy-and-hold benchmark (None: `mark`, no actions).
    growth_mark: np.ndarray | None = None

    @classmethod
    def from_universe(cls, data: pd.DataFrame | Universe) -> MarketArrays:
        universe = as_universe(data)
        symbols = sorted(universe)  # the order fills are processed in, same in both engines
        index = universe[symbols[0]].index
        same = all(universe[sym].index.equals(index) for sym in symbols[1:])
        for sym in [] if same else symbols[1:]:
            index = index.union(universe[sym].index)
        fields = {}
        for name in ("open", "high", "low", "close"):
            if same and len(symbols) == 1:  # a view of the column when it is float64 already
                fields[name] = universe[symbols[0]][name].to_numpy(np.float64).reshape(-1, 1)
                continue
            columns = [
                universe[s][name].to_numpy(np.float64)
                if same
                else universe[s][name].astype(float).reindex(index).to_numpy(np.float64)
                for s in symbols
            ]
            fields[name] = np.column_stack(columns)
        close = fields["close"]
        if (close <= 0).any():
            raise ValidationError("bars contain non-positive close prices")
        mark = close if same and not np.isnan(close).any() else ffill_rows(close)
        return cls(index=pd.DatetimeIndex(index), symbols=symbols, mark=mark, **fields)

    @property
    def shape(self) -> tuple[int, int]:
        return self.close.shape

    @property
    def benchmark_mark(self) -> np.ndarray:
        return self.mark if self.growth_mark is None else self.growth_mark

    def with_actions(self, actions: ActionArrays, adjusted: Universe) -> MarketArrays:
        """These raw bars with corporate actions to apply, and the benchmark marked on the
        total-return `adjusted` bars (so a split is not a crash of the benchmark)."""
        if not len(actions):
            return self
        growth = MarketArrays.from_universe(adjusted)
        return replace(self, actions=actions, growth_mark=growth.mark)


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
    aligned = targets
    if not (targets.index.equals(market.index) and list(targets.columns) == market.symbols):
        aligned = targets.reindex(index=market.index, columns=market.symbols)
    decided = np.ascontiguousarray(aligned.to_numpy(dtype=np.float64, na_value=np.nan))
    n, k = decided.shape
    want, flag = np.empty((n, k)), np.empty((n, k), dtype=np.bool_)
    next_open = config.fill_at != "close"
    bad = plan(
        decided, market.close, config.rebalance == "every_bar", next_open, trade_start, want, flag
    )
    if bad:
        raise ValidationError("strategy produced non-finite targets")
    slip = _slippage(market, config, next_open)
    price = market.open if next_open else market.close
    return ExecutionPlan(want=want, flag=flag, price=price, slip=slip)


def _slippage(market: MarketArrays, config: BacktestConfig, next_open: bool) -> np.ndarray:
    """Slippage fraction for an execution at each bar, from the deciding bar's volatility
    (each symbol by its own model: a symbol of another market takes that market's)."""
    n, k = market.shape
    models = [config.slippage_for(s) for s in market.symbols]
    if all(m.vol_mult == 0 for m in models):  # bps only: the same fraction after the first row
        slip = np.empty((n, k))
        slip[:] = [m.fraction() for m in models]
        if next_open and n:
            slip[0] = 0.0  # nothing was decided before the first bar
        return slip
    decided = np.full((n, k), np.nan)
    for s, model in enumerate(models):
        has_bar = ~np.isnan(market.close[:, s])
        decided[has_bar, s] = model.fractions(market.close[has_bar, s])
    ffill(decided, 0.0)
    if not next_open:
        return decided
    return np.vstack([np.zeros((1, k)), decided[:-1]])


def ffill_rows(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down each column of a 2-D array (leading NaN stays NaN)."""
    out = np.array(values, dtype=np.float64, order="C")
    ffill(out, np.nan)
    return out
