"""Strategies: one API for backtest, paper and live trading.

* `TargetStrategy`: vectorized `target_positions(data) -> DataFrame` (index = bar times,
  columns = symbols, values = signed fraction of equity) and `targets_at(history)` for the last
  bar of a truncated history (same value; this is what paper/live runners call bar by bar).
* `OrderStrategy`: event-driven `on_bar(ctx)` submitting `OrderIntent`s (market, limit, stop,
  optional stop-loss / take-profit) through a `StrategyContext`.
* Parameters are declared with `Param` (type, default, range) and validated on construction;
  an instance reads them as `self.params.fast` (or `self.p["fast"]`).
* `get_strategy_class("sma_cross" | "path/to/file.py:Class" | "module:Class")`, `create_strategy`,
  `list_strategies`, `register`.

Built-ins: sma_cross, ts_momentum, rsi_reversion, bollinger_zscore (targets) and
channel_breakout (orders) (see `builtin`).
See `base` for the full contract.
"""

from qts.core.types import OrderIntent
from qts.strategies.base import (
    BarArrays,
    OrderStrategy,
    Strategy,
    StrategyContext,
    TargetStrategy,
    as_universe,
    history_arrays,
    validate_bars,
)
from qts.strategies.params import Param, ParamSet, parse_param_pairs, resolve_params
from qts.strategies.registry import (
    create_strategy,
    get_strategy_class,
    list_strategies,
    register,
)

__all__ = [
    "BarArrays",
    "OrderIntent",
    "OrderStrategy",
    "Param",
    "ParamSet",
    "Strategy",
    "StrategyContext",
    "TargetStrategy",
    "as_universe",
    "create_strategy",
    "get_strategy_class",
    "history_arrays",
    "list_strategies",
    "parse_param_pairs",
    "register",
    "resolve_params",
    "validate_bars",
]
