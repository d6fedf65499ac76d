"""The trading environment: one symbol's bars and normalised features as a Gymnasium env whose
fills, costs and sizing are the backtest's.

The action decided at bar t is a target fraction of equity; it executes at t+1's open exactly
as the vectorized engine executes a target strategy (`qts.backtest.kernel.rebalance_kernel`,
fill_at=next_open, rebalance=on_change): the same sizing (`round_to_unit`, `max_affordable`:
lots, quantity steps, no negative cash), the same fee function (`order_fee`: commission, fixed
and minimum fee, the dated sell tax) and the same slippage fractions. A test plays one action
sequence through this env and through `run_backtest` and compares the equity curves.

Observation at bar t: the last `lookback` rows of features (known at t's close) flattened, then
the position (signed fraction of equity), the cash fraction and the unrealised P&L (fraction
of equity). Reward of the step t -> t+1: `reward_scale` x the net return of equity (marked at
t+1's close, after fees and slippage) minus the declared penalties: `drawdown_penalty` x the
step's increase in drawdown, `volatility_penalty` x the squared return, `turnover_penalty` x
the traded notional over equity.

Everything is precomputed into Python floats and numpy arrays; a step is O(1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qts.backtest.config import BacktestConfig
from qts.core.errors import ValidationError

STATE_COLUMNS = ("position", "cash_fraction", "unrealised_pnl")


@dataclass(frozen=True)
class EnvArrays:
    """One symbol's market and feature arrays with the run spec's cost and sizing numbers."""

    open: list[float]
    close: list[float]
    slip: list[float]  # slippage fraction decided at bar t, paid by the fill at t+1
    sell_tax: list[float]  # sell tax rate in force at bar t
    features: np.ndarray  # (n, f) float32, normalised, NaN replaced by 0
    valid: np.ndarray  # (n,) bool: the row's features were all finite
    unit: float
    cash: float
    commission: float
    fixed_fee: float
    min_fee: float
    allow_short: bool
    leverage: float
    index: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))

    @property
    def n(self) -> int:
        return len(self.close)


def run_spec(config: BacktestConfig | None, symbol: str) -> BacktestConfig:
    """The resolved run spec of `symbol` (its market preset where unset); the env executes
    next-open fills on target changes only, as the engine does for target strategies."""
    config = config or BacktestConfig()
    if config.fill_at != "next_open" or config.rebalance != "on_change":
        raise ValidationError(
            "the RL environment fills at the next open on target changes: use fill_at=next_open "
            "and rebalance=on_change"
        )
    return config if config.resolved else config.resolve([symbol])


def env_arrays(
    bars: pd.DataFrame,
    features: pd.DataFrame | np.ndarray,
    config: BacktestConfig | None = None,
    symbol: str = "ASSET",
) -> EnvArrays:
    """Arrays of one symbol: `features` has one row per bar (already normalised)."""
    spec = run_spec(config, symbol)
    close = bars["close"].to_numpy(np.float64)
    opens = bars["open"].to_numpy(np.float64)
    if not (np.isfinite(close).all() and np.isfinite(opens).all()) or (close <= 0).any():
        raise ValidationError(f"{symbol}: bars need finite, positive open and close prices")
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 2 or len(values) != len(close):
        raise ValidationError("features need one row per bar")
    valid = np.asarray(np.isfinite(values).all(axis=1), dtype=bool)
    index = pd.DatetimeIndex(bars.index)
    costs, sizer = spec.costs_for(symbol), spec.sizer
    return EnvArrays(
        open=opens.tolist(), close=close.tolist(),
        slip=spec.slippage_for(symbol).fractions(close).tolist(),
        sell_tax=costs.sell_taxes(index).tolist(),
        features=np.ascontiguousarray(np.nan_to_num(values, nan=0.0), dtype=np.float32),
        valid=valid, unit=sizer.unit(symbol), cash=spec.initial_cash,
        commission=costs.commission, fixed_fee=costs.fixed_fee, min_fee=costs.min_fee,
        allow_short=sizer.allow_short, leverage=sizer.leverage, index=index,
    )  # fmt: skip


def first_ready_row(valid: np.ndarray, lookback: int) -> int:
    """The first row whose last `lookback` feature rows are all finite."""
    run = 0
    for i, ok in enumerate(valid):
        run = run + 1 if ok else 0
        if run >= lookback:
            return i
    raise ValidationError(f"no bar has {lookback} rows of finite features before it")


def action_levels(allow_short: bool) -> tuple[float, ...]:
    """Discrete actions: short, flat, long (flat, long where shorting is off)."""
    return (-1.0, 0.0, 1.0) if allow_short else (0.0, 1.0)


def action_target(action: object, settings: EnvSettings, levels: tuple[float, ...]) -> float:
    """The target fraction of equity an action asks for: a level for a discrete action; a
    continuous one clipped to [lowest level, 1] and rounded to `weight_step`."""
    if settings.action_space == "discrete":
        return levels[int(np.asarray(action).reshape(-1)[0])]
    weight = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], levels[0], 1.0))
    step = settings.weight_step
    return round(weight / step) * step if step > 0 else weight


@dataclass(frozen=True)
class EnvSettings:
    """How the env reads actions and shapes rewards (declared, saved with a policy)."""

    lookback: int = 8
    action_space: str = "discrete"  # or "continuous" (a target weight, PPO/A2C)
    weight_step: float = 0.0  # continuous targets rounded to this grid (0: not rounded)
    reward_scale: float = 100.0
    drawdown_penalty: float = 0.0
    volatility_penalty: float = 0.0
    turnover_penalty: float = 0.0
    episode_length: int = 0  # 0: from the start row to the last bar
    random_start: bool = False  # training: each episode starts at a random row

    def __post_init__(self) -> None:
        if self.lookback < 1:
            raise ValidationError("lookback must be >= 1")
        if self.action_space not in ("discrete", "continuous"):
            raise ValidationError("action_space must be discrete or continuous")
        for name in ("weight_step", "drawdown_penalty", "volatility_penalty", "turnover_penalty"):
            if not getattr(self, name) >= 0:
                raise ValidationError(f"{name} must be >= 0")
        if self.episode_length < 0:
            raise ValidationError("episode_length must be >= 0")
