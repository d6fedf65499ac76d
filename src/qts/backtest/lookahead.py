"""Look-ahead check for strategies: a decision at bar t must be the same whether or not the bars
after t exist.

* Target strategies: `targets_at(history up to t)` must equal `target_positions(all)` at t.
* Order strategies: the orders submitted up to t on the data cut at t must be the orders
  submitted up to t on all the data (each run is an event backtest from a fresh instance).

`check_lookahead(strategy, data)` returns the differences found (empty: no peeking seen).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.strategies.base import (
    OrderIntent,
    OrderStrategy,
    Strategy,
    StrategyContext,
    TargetStrategy,
    Universe,
    as_universe,
)


@dataclass(frozen=True)
class LookaheadViolation:
    ts: pd.Timestamp
    symbol: str
    full: Any  # the decision on all the data
    truncated: Any  # the decision on the data cut at ts

    def __str__(self) -> str:
        return (
            f"{self.symbol} at {self.ts}: {self.full!r} with later bars present, "
            f"{self.truncated!r} on the bars up to then"
        )


def default_cut_points(n: int, warmup: int, count: int = 8) -> list[int]:
    """Bar positions spread over the series, past the warm-up where possible."""
    if n == 0:
        return []
    start = min(max(warmup, 1), n - 1)
    return sorted({int(i) for i in np.linspace(start, n - 1, num=min(count, n))})


def check_lookahead(
    strategy: Strategy,
    data: pd.DataFrame | Universe,
    cut_points: Sequence[int] | None = None,
    limit: int = 20,
) -> list[LookaheadViolation]:
    """Differences between decisions on all of `data` and on `data` cut at each cut point
    (positions in the union of bar times; default: 8 spread past the warm-up)."""
    universe = as_universe(data)
    times = pd.DatetimeIndex(sorted(set().union(*(f.index for f in universe.values()))))
    cuts = (
        list(cut_points)
        if cut_points is not None
        else default_cut_points(len(times), strategy.warmup_bars)
    )
    if isinstance(strategy, TargetStrategy):
        return _check_targets(strategy, universe, times, cuts, limit)
    if isinstance(strategy, OrderStrategy):
        return _check_orders(strategy, universe, times, cuts, limit)
    raise TypeError(f"{type(strategy).__name__} is neither a target nor an order strategy")


def _cut(universe: Universe, ts: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return {s: f[f.index <= ts] for s, f in universe.items() if (f.index <= ts).any()}


def _check_targets(
    strategy: TargetStrategy,
    universe: Universe,
    times: pd.DatetimeIndex,
    cuts: Sequence[int],
    limit: int,
) -> list[LookaheadViolation]:
    full = strategy.target_positions(universe)
    out: list[LookaheadViolation] = []
    for cut in cuts:
        ts = times[cut]
        part = _cut(universe, ts)
        if len(part) < len(universe):
            continue  # the equal split of equity differs while a symbol has no bars yet
        at_t = strategy.targets_at(part)
        for symbol, value in at_t.items():
            expected = float(full.loc[ts, symbol])
            if not _same(expected, value):
                out.append(LookaheadViolation(ts, symbol, expected, value))
                if len(out) >= limit:
                    return out
    return out


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


class _Recorder(OrderStrategy):
    """Runs an order strategy and keeps every order it submits, by bar time."""

    def __init__(self, inner: OrderStrategy) -> None:
        self.inner = inner
        self.p = dict(inner.p)
        self.log: list[tuple[pd.Timestamp, str, tuple[Any, ...]]] = []

    def on_start(self, ctx: StrategyContext) -> None:
        self.inner.on_start(_RecordingContext(ctx, self.log))

    def on_bar(self, ctx: StrategyContext) -> None:
        self.inner.on_bar(_RecordingContext(ctx, self.log))


class _RecordingContext:
    def __init__(self, ctx: StrategyContext, log: list[Any]) -> None:
        self._ctx = ctx
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def submit(self, request: OrderIntent) -> str:
        r = request
        key = (r.side, r.quantity, r.type, r.limit_price, r.stop_price, r.stop_loss, r.take_profit)
        self._log.append((self._ctx.ts, r.symbol, key))
        return self._ctx.submit(request)


def _orders(strategy: OrderStrategy, universe: Universe) -> list[Any]:
    from qts.backtest.engine import run_backtest

    recorder = _Recorder(type(strategy)(**strategy.p))
    run_backtest(recorder, dict(universe), BacktestConfig())
    return recorder.log


def _check_orders(
    strategy: OrderStrategy,
    universe: Universe,
    times: pd.DatetimeIndex,
    cuts: Sequence[int],
    limit: int,
) -> list[LookaheadViolation]:
    full = _orders(strategy, universe)
    out: list[LookaheadViolation] = []
    for cut in cuts:
        ts = times[cut]
        part = _orders(strategy, _cut(universe, ts))
        expected = [o for o in full if o[0] <= ts]
        for mine, theirs in zip(expected, part, strict=False):
            if mine != theirs:
                out.append(LookaheadViolation(mine[0], mine[1], mine[2], theirs[2]))
                break
        else:
            if len(expected) != len(part):
                out.append(
                    LookaheadViolation(ts, "*", f"{len(expected)} orders", f"{len(part)} orders")
                )
        if len(out) >= limit:
            break
    return out
