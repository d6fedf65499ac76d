"""The built-in target strategies one bar at a time (`TargetStrategy.target_stepper`).

Each stepper keeps the running state of its strategy's `symbol_targets` for one symbol (the
TA-Lib stream handles of `qts.strategies.incremental`, the previous values a cross needs, the held
position of `hold_state`), so `step(bar)` returns exactly `symbol_targets(bars)` at that bar
from one new row: the paper/live runner's decision step costs O(1) in the history's length.
tests/strategies/test_steppers.py holds each one to the vectorized values over long series.
"""

from __future__ import annotations

import math
from typing import Any

import talib

from qts.strategies.base import BarRow
from qts.strategies.incremental import CrossAbove, IndicatorStream


class SmaCrossStepper:
    def __init__(self, p: dict[str, Any]) -> None:
        self._fast = IndicatorStream("SMA", timeperiod=p["fast"])
        self._slow = IndicatorStream("SMA", timeperiod=p["slow"])
        self._up = CrossAbove()
        self._down = CrossAbove()
        self._exit = -1.0 if p["allow_short"] else 0.0
        self._held = 0.0

    def step(self, bar: BarRow) -> float:
        close = bar[3]
        fast, slow = self._fast.update(close), self._slow.update(close)
        down = self._down.update(slow, fast)
        if self._up.update(fast, slow):
            self._held = 1.0
        elif down:
            self._held = self._exit
        return self._held


class MomentumStepper:
    def __init__(self, p: dict[str, Any]) -> None:
        self._roc = IndicatorStream("ROCP", timeperiod=p["lookback"])
        self._threshold = float(p["threshold"])
        self._short = bool(p["allow_short"])

    def step(self, bar: BarRow) -> float:
        roc = self._roc.update(bar[3])
        target = 1.0 if roc > self._threshold else 0.0
        if self._short and roc < -self._threshold:
            target = -1.0
        return target


class LevelReversion:
    """The event rule shared by RSI and z-score reversion: crossing `exit_down` upward or
    `exit_up` downward means flat, below `lower` long, above `upper` short (if allowed)."""

    def __init__(self, exit_down: float, exit_up: float, lower: float, upper: float, short: bool):
        self._exit_down, self._exit_up = exit_down, exit_up
        self._lower, self._upper, self._short = lower, upper, short
        self._rise = CrossAbove()
        self._fall = CrossAbove()
        self._held = 0.0

    def step(self, value: float) -> float:
        rose = self._rise.update(value, self._exit_down)
        fell = self._fall.update(self._exit_up, value)
        if rose or fell:
            self._held = 0.0
        if value < self._lower:
            self._held = 1.0
        if self._short and value > self._upper:
            self._held = -1.0
        return self._held


class RsiReversionStepper:
    def __init__(self, p: dict[str, Any]) -> None:
        self._rsi = IndicatorStream("RSI", timeperiod=p["period"])
        level = float(p["exit_level"])
        self._rule = LevelReversion(
            level, level, float(p["lower"]), float(p["upper"]), bool(p["allow_short"])
        )

    def step(self, bar: BarRow) -> float:
        return self._rule.step(self._rsi.update(bar[3]))


class BollingerStepper:
    def __init__(self, p: dict[str, Any]) -> None:
        self._bands = IndicatorStream(
            "BBANDS", timeperiod=p["period"], nbdevup=1.0, nbdevdn=1.0, matype=talib.MA_Type.SMA
        )
        entry, exit_ = float(p["entry_z"]), float(p["exit_z"])
        self._rule = LevelReversion(-exit_, exit_, -entry, entry, bool(p["allow_short"]))

    def step(self, bar: BarRow) -> float:
        close = bar[3]
        upper, middle, _lower = self._bands.update(close)
        if math.isnan(middle):
            z = math.nan
        else:
            width = upper - middle
            z = (close - middle) / width if width > 0 else 0.0
        return self._rule.step(z)
