"""How a paper/live runner gets a target strategy's targets at each new bar, cheapest first:

* `stepper`: the strategy's `target_stepper()` per symbol, one new row per symbol and bar
  (O(1) in the history's length; the built-ins). Exact: steppers reproduce `symbol_targets`.
* `window`: the strategy declares `history_window` (its last target depends on that many
  trailing bars only): `targets_at` on that window, O(window).
* `full`: `targets_at` on the whole history so far (user strategies that declare neither,
  model strategies): exact for any strategy, but the work grows with the history.

A stepper or window declared by a parent class is not used when a subclass redefines
`symbol_targets` or `target_positions`, which the stepper would no longer mirror.
`rows_handed` counts the bar rows given to the strategy for the last bar (and the runner's
`rows_handed` all of them): the tests prove the decision step O(1) with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from qts.core.types import Bar
from qts.execution.bar_history import BarHistory
from qts.strategies.base import TargetStepper, TargetStrategy


def _defined_in(strategy: TargetStrategy, attribute: str) -> type:
    return next(k for k in type(strategy).__mro__ if attribute in k.__dict__)


def _declared_below_rules(strategy: TargetStrategy, attribute: str) -> bool:
    """Whether `attribute` comes from the class that defines the strategy's rules (or one
    below it), not from TargetStrategy's default or a parent whose rules were replaced."""
    home = _defined_in(strategy, attribute)
    if home is TargetStrategy:
        return False
    rules = (_defined_in(strategy, "symbol_targets"), _defined_in(strategy, "target_positions"))
    return all(issubclass(home, k) for k in rules) and (
        _defined_in(strategy, "targets_at") is TargetStrategy
    )


def decision_mode(strategy: TargetStrategy) -> str:
    if _declared_below_rules(strategy, "target_stepper") and strategy.target_stepper() is not None:
        return "stepper"
    if _declared_below_rules(strategy, "history_window") and strategy.history_window:
        return "window"
    return "full"


class TargetDecisions:
    def __init__(self, strategy: TargetStrategy, symbols: list[str], history: BarHistory) -> None:
        self.strategy = strategy
        self.symbols = list(symbols)
        self.history = history
        self.mode = decision_mode(strategy)
        self.weight = 1.0 / len(self.symbols) if self.symbols else 0.0
        self.rows_handed = 0  # for the last bar
        self.stepped = 0  # rows stepped since the start (the warm-up on history excluded)
        self._steppers: dict[str, TargetStepper] = {}
        if self.mode == "stepper":
            for symbol in self.symbols:  # warm up on the history the runner starts with
                stepper = strategy.target_stepper()
                assert stepper is not None
                for row in history.rows(symbol):
                    stepper.step(row)
                self._steppers[symbol] = stepper

    def targets(self, bars: Mapping[str, Bar]) -> dict[str, float]:
        """Targets (signed fraction of equity) of the symbols with a bar now, after the bars
        joined the history."""
        if self.mode == "stepper":
            self.rows_handed = len(bars)
            self.stepped += len(bars)
            out = {}
            for symbol, bar in bars.items():
                raw = self._steppers[symbol].step(
                    (bar.open, bar.high, bar.low, bar.close, bar.volume)
                )
                # As `target_positions`: NaN is flat, clipped to [-1, 1], an equal share each.
                out[symbol] = 0.0 if math.isnan(raw) else min(max(raw, -1.0), 1.0) * self.weight
            return out
        lookback = self.strategy.history_window if self.mode == "window" else None
        frames: dict[str, pd.DataFrame] = {s: self.history.frame(s, lookback) for s in self.symbols}
        self.rows_handed = sum(len(f) for f in frames.values())
        return self.strategy.targets_at(frames)
