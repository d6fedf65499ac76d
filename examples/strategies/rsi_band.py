"""An example user strategy (README: "Write your own strategy").

Long when RSI falls below `low` (oversold), flat again once it rises above `high`. Run it with
`qts backtest --strategy examples/strategies/rsi_band.py:RsiBand ...`, or, installed as a module
on the server's path, through the API as `examples.strategies.rsi_band:RsiBand`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import talib

from qts.core.errors import ValidationError
from qts.strategies import Param, ParamSet, TargetStrategy
from qts.strategies.base import hold_state


class RsiBand(TargetStrategy):
    """Buy oversold, sell once recovered."""

    name: ClassVar[str] = "rsi_band"
    params: ClassVar[ParamSet] = ParamSet(
        Param("period", "int", 14, low=2, high=100, step=2, description="RSI period"),
        Param("low", "float", 30.0, low=1.0, high=50.0, step=5.0, description="buy below"),
        Param("high", "float", 55.0, low=40.0, high=99.0, step=5.0, description="sell above"),
    )

    def validate_params(self) -> None:
        if self.params.low >= self.params.high:
            raise ValidationError("rsi_band needs low < high")

    @property
    def warmup_bars(self) -> int:
        return int(self.params.period) + 1

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        rsi = talib.RSI(bars["close"].to_numpy(dtype=np.float64), timeperiod=self.params.period)
        events = np.full(len(rsi), np.nan)  # NaN: no event, keep the previous state
        events[rsi < self.params.low] = 1.0
        events[rsi > self.params.high] = 0.0
        return pd.Series(hold_state(events), index=bars.index)
