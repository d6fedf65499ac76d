"""The strategy API shared by backtest, paper and live trading.

Two kinds of strategy exist; both declare typed parameters (`params`, see `qts.strategies.params`).

* `TargetStrategy` (rule-based, vectorized). Implement `symbol_targets(bars) -> Series` giving a
  signed target in [-1, 1] per bar for one symbol; `target_positions(data)` combines symbols into
  a DataFrame (index = bar open times, columns = symbols, values = signed fraction of equity;
  each symbol gets `1 / n_symbols` of equity; at a time where a symbol has no bar its last
  target carries on, and engines read a symbol's target at its own bars only). The value at bar t may use bars up to and including
  t only, so `targets_at(history_up_to_t)` (the last row of the same computation on the truncated
  history) equals `target_positions(full_history).loc[t]`. Paper/live runners call `targets_at`
  on the history so far at each new bar; the backtester calls `target_positions` once.
  Pass the history from the same first bar: TA-Lib's recursive indicators (RSI, EMA) depend on
  where the series starts; SMA-only strategies need just `warmup_bars` of history.
* `OrderStrategy` (event-driven). Implement `on_bar(ctx)`; it sees the bars up to now through a
  `StrategyContext` (`ctx.history`, a DataFrame; `history_arrays(ctx, ...)`, numpy views without
  a copy where the context can give them, for strategies that run every bar) and submits market/limit/stop orders, optionally with stop-loss and
  take-profit, through `ctx.submit(OrderIntent(...))`. The backtester's event engine supplies the
  context; paper and live sessions supply `qts.execution.strategy_context.RunnerContext`, whose
  orders go through the order service (risk checks, stored, resumable after a restart).
* `warmup_bars` is the history a strategy needs before its first decision: sessions load that
  many stored bars before their first bar, and a live first run fetches that many.

Orders decided at bar t are filled by `qts.backtest.fills.FillModel` at bar t+1 (its open for
market orders) unless the run is configured to fill at bar t's close.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError
from qts.core.types import OrderIntent
from qts.strategies.model_access import ModelAccess
from qts.strategies.params import Param, ParamSet, resolve_params

OHLCV = ("open", "high", "low", "close", "volume")
Universe = Mapping[str, pd.DataFrame]
BarRow = tuple[float, float, float, float, float]  # open, high, low, close, volume


class TargetStepper(Protocol):
    """`symbol_targets` of one symbol, one bar at a time (see `TargetStrategy.target_stepper`)."""

    def step(self, bar: BarRow) -> float:
        """The raw target at this bar (before clipping and the per-symbol weight)."""
        ...


def as_universe(data: pd.DataFrame | Universe, symbol: str = "ASSET") -> dict[str, pd.DataFrame]:
    """Normalise one DataFrame or a symbol->DataFrame mapping, validating each frame."""
    universe = {symbol: data} if isinstance(data, pd.DataFrame) else dict(data)
    if not universe:
        raise ValidationError("no symbols given: data is empty")
    for sym, bars in universe.items():
        validate_bars(bars, sym)
    return universe


def validate_bars(bars: pd.DataFrame, symbol: str = "") -> None:
    """Raise ValidationError unless `bars` is a non-empty, time-sorted OHLC frame."""
    label = f" for {symbol}" if symbol else ""
    if not isinstance(bars, pd.DataFrame):
        raise ValidationError(f"bars{label} must be a pandas DataFrame")
    if bars.empty:
        raise ValidationError(f"no bars{label}: the data is empty")
    missing = [c for c in ("open", "high", "low", "close") if c not in bars.columns]
    if missing:
        raise ValidationError(f"bars{label} lack columns {missing}")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise ValidationError(f"bars{label} need a DatetimeIndex (bar open times)")
    if not bars.index.is_monotonic_increasing or bars.index.has_duplicates:
        raise ValidationError(f"bars{label} must be sorted by time without duplicate times")


class Strategy:
    """Base of all strategies: a name, a description and declared, validated parameters.

    `params` on the class holds the `Param` declarations; on an instance it reads the values:
    `self.params.fast` (the same as `self.p["fast"]`). Declare with `ParamSet(...)` for mypy to
    accept the attribute access.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    kind: ClassVar[str] = "target"
    # A strategy reading models sets this: whoever runs it binds a `ModelAccess` first.
    uses_models: ClassVar[bool] = False
    models: ModelAccess | None = None

    def __init__(self, **params: Any) -> None:
        declared = type(self).params
        self.p: dict[str, Any] = resolve_params(declared, params)
        # On the instance `params` reads values (`self.params.fast`); the class keeps the
        # declarations. Set through __dict__ because `params` is a class variable.
        self.__dict__["params"] = ParamSet(*declared).bind(self.p)
        self.validate_params()

    def validate_params(self) -> None:
        """Check relations between parameters (e.g. fast < slow); raise ValidationError."""

    @property
    def warmup_bars(self) -> int:
        """Bars of history needed before the first meaningful signal."""
        return 0

    def bind_models(self, access: ModelAccess) -> None:
        """How the strategy reaches models in this run (backtest, paper or live)."""
        self.models = access

    def order_meta(self, symbol: str) -> dict[str, Any]:
        """Recorded in the `meta` of each order the strategy makes (e.g. a model version)."""
        return {}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name or cls.__name__,
            "kind": cls.kind,
            "description": cls.description or (cls.__doc__ or "").strip().split("\n")[0],
            "params": [p.to_dict() for p in cls.params],
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.p.items())
        return f"{type(self).__name__}({args})"


class TargetStrategy(Strategy):
    """Rule-based strategy giving target positions (signed fraction of equity) per bar."""

    kind: ClassVar[str] = "target"

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        """Signed target in [-1, 1] for each bar of one symbol, using bars up to t only."""
        raise NotImplementedError

    def target_positions(self, data: pd.DataFrame | Universe) -> pd.DataFrame:
        """Targets for the whole history: index = bar times, columns = symbols."""
        universe = as_universe(data)
        weight = 1.0 / len(universe)
        columns = {}
        for symbol, bars in universe.items():
            raw = np.asarray(self.symbol_targets(bars), dtype=np.float64)
            target = np.nan_to_num(raw, nan=0.0)  # a copy: NaN (warm-up) means flat
            np.clip(target, -1.0, 1.0, out=target)
            target *= weight
            columns[symbol] = target
        first = next(iter(universe.values())).index
        if all(bars.index.equals(first) for bars in universe.values()):  # one time axis
            values = (
                np.column_stack(list(columns.values())) if len(columns) > 1 else target[:, None]
            )
            frame = pd.DataFrame(values, index=first.rename("ts"), columns=list(columns))
            return frame
        frame = pd.DataFrame({s: pd.Series(v, index=universe[s].index) for s, v in columns.items()})
        frame.index.name = "ts"
        # Where a symbol has no bar (another symbol's bar time) its last target stays in force:
        # a missing bar is no information, not a signal to sell.
        return frame.ffill().fillna(0.0)

    def target_stepper(self) -> TargetStepper | None:
        """A fresh incremental form of `symbol_targets` for one symbol, or None (the default).

        Paper/live runners step it once per new bar (O(1) in the history's length) instead of
        recomputing `target_positions` over the history; `stepper.step(bar)` must return
        exactly `symbol_targets(bars)` at that bar for every history, from the first bar.
        """
        return None

    @property
    def history_window(self) -> int | None:
        """Trailing bars that determine the last target exactly, or None (the full history).

        Declare it only when nothing carries over from older bars (no recursive indicator,
        no held state): runners without a `target_stepper` then hand over this many bars.
        """
        return None

    def targets_at(self, history: pd.DataFrame | Universe) -> dict[str, float]:
        """Targets at the last bar of `history` (the paper/live entry point)."""
        frame = self.target_positions(history)
        return {str(k): float(v) for k, v in frame.iloc[-1].items()}


# The strategy's order intent is the first stage of the order family in `qts.core.types`.


class StrategyContext(Protocol):
    """What an `OrderStrategy` sees at each bar; engines and live runners implement it."""

    @property
    def ts(self) -> pd.Timestamp: ...

    @property
    def symbols(self) -> list[str]: ...

    @property
    def cash(self) -> float: ...

    @property
    def equity(self) -> float: ...

    def history(self, symbol: str, lookback: int | None = None) -> pd.DataFrame: ...

    def position(self, symbol: str) -> float: ...

    def open_orders(self, symbol: str | None = None) -> list[Any]: ...

    def submit(self, intent: OrderIntent) -> str: ...

    def cancel(self, order_id: str) -> bool: ...

    def predict(self, model: str, symbols: list[str] | None = None) -> dict[str, float]:
        """Each symbol's score from `model` (NAME@alias or NAME/version) at this bar."""
        ...

    def features(self, model: str, symbols: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Each symbol's input features of `model` at this bar."""
        ...


class BarArrays:
    """One symbol's bars as numpy arrays (`ts` as datetime64 in UTC): a window over arrays built once,
    each column a view (no copy) taken when read."""

    __slots__ = ("_columns", "_end", "_start")

    def __init__(self, columns: tuple[np.ndarray, ...], start: int = 0, end: int | None = None):
        self._columns = columns
        self._start = start
        self._end = len(columns[0]) if end is None else end

    @classmethod
    def of(cls, bars: pd.DataFrame) -> BarArrays:
        volume = bars["volume"] if "volume" in bars.columns else pd.Series(0.0, index=bars.index)
        prices = tuple(bars[c].to_numpy(np.float64) for c in ("open", "high", "low", "close"))
        index = pd.DatetimeIndex(bars.index)
        if index.tz is not None:  # datetime64 in UTC, not an array of Timestamp objects
            index = index.tz_convert("UTC").tz_localize(None)
        return cls((index.to_numpy(), *prices, volume.to_numpy(np.float64)))

    @property
    def columns(self) -> tuple[np.ndarray, ...]:
        """The full arrays this window reads (ts, open, high, low, close, volume)."""
        return self._columns

    def window(self, start: int, end: int) -> BarArrays:
        """Rows start..end-1 of the full arrays (positions in the arrays this was built from)."""
        return BarArrays(self._columns, start, end)

    @property
    def ts(self) -> np.ndarray:
        return self._columns[0][self._start : self._end]

    @property
    def open(self) -> np.ndarray:
        return self._columns[1][self._start : self._end]

    @property
    def high(self) -> np.ndarray:
        return self._columns[2][self._start : self._end]

    @property
    def low(self) -> np.ndarray:
        return self._columns[3][self._start : self._end]

    @property
    def close(self) -> np.ndarray:
        return self._columns[4][self._start : self._end]

    @property
    def volume(self) -> np.ndarray:
        return self._columns[5][self._start : self._end]

    def __len__(self) -> int:
        return self._end - self._start


def history_arrays(ctx: StrategyContext, symbol: str, lookback: int | None = None) -> BarArrays:
    """`ctx.history` as numpy arrays: views from contexts that offer `arrays` (the backtester),
    converted from the DataFrame elsewhere (paper and live runners)."""
    fast = getattr(ctx, "arrays", None)
    if fast is not None:
        return fast(symbol, lookback)  # type: ignore[no-any-return]
    return BarArrays.of(ctx.history(symbol, lookback))


class OrderStrategy(Strategy):
    """Event-driven strategy: `on_bar` is called after each bar closes."""

    kind: ClassVar[str] = "orders"

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first bar."""

    def on_bar(self, ctx: StrategyContext) -> None:
        raise NotImplementedError


def cross_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at t where a[t] > b[t] and a[t-1] <= b[t-1] (NaN compares false)."""
    out = np.zeros(len(a), dtype=bool)
    if len(a) > 1:
        with np.errstate(invalid="ignore"):
            out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def hold_state(events: np.ndarray) -> np.ndarray:
    """Forward-fill a sparse event array (NaN = no event) into a position state, starting flat."""
    state = pd.Series(events).ffill().fillna(0.0)
    return state.to_numpy()
