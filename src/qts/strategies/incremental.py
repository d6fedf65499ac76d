"""Indicators one bar at a time, equal to TA-Lib over the whole series, for target steppers.

TA-Lib's SMA, Bollinger bands and RSI are running computations from the first bar (running
sums, Wilder smoothing), so a value recomputed on a trailing window differs from the backtest's
in the last bits. TA-Lib's streaming API (`talib.stream`, TA-Lib >= 0.8) carries that state: a
handle opened on the history gives, bar after bar, the values the function API gives for the
same bars, bit for bit, in O(1). `IndicatorStream` opens the handle once enough bars have come
(NaN until then, as the function API reports), so a stepper can start from the first bar.
Leading NaNs are skipped as the function API skips them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import talib
from talib import abstract, stream

from qts.core.errors import ValidationError

NAN = math.nan


class IndicatorStream:
    """`talib.<name>(close, **params)` fed one close at a time; `update` returns its value
    at that bar (a tuple for multi-output functions, NaN or a tuple of NaNs before it has
    one)."""

    def __init__(self, name: str, **params: Any) -> None:
        self.name = name
        self.params = params
        self._open = getattr(stream, name)
        function = getattr(abstract, "Function")  # noqa: B009 (set at import: no stub)
        self._outputs = len(function(name).output_names)
        self._lookback = int(function(name, **params).lookback)
        self._pending: list[float] = []
        self._handle: Any = None

    def _empty(self) -> Any:
        return NAN if self._outputs == 1 else (NAN,) * self._outputs

    def update(self, value: float) -> Any:
        if self._handle is not None:
            if not math.isfinite(value):
                raise ValidationError(
                    f"{self.name}: a non-finite close ({value}) after the series started"
                )
            return self._handle.update(value)
        self._pending.append(value)
        finite = sum(1 for v in self._pending if math.isfinite(v))
        if finite <= self._lookback:
            return self._empty()
        try:
            self._handle = self._open(_array(self._pending), **self.params)
        except talib.InsufficientHistory:  # some functions seed on a few more bars
            return self._empty()
        self._pending = []
        return self._handle.value


def _array(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


class CrossAbove:
    """`qts.strategies.base.cross_above` one bar at a time: a > b now and a <= b before."""

    def __init__(self) -> None:
        self._was_at_or_below = False

    def update(self, a: float, b: float) -> bool:
        crossed = a > b and self._was_at_or_below
        self._was_at_or_below = a <= b  # NaN compares false, as in numpy
        return crossed
