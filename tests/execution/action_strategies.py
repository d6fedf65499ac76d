"""A test strategy for corporate-action sessions (`module:Class` spec): 90% of equity long from
its first bar on, so the position is held through every split and dividend."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from qts.strategies.base import TargetStrategy
from qts.strategies.params import ParamSet


class HoldLong(TargetStrategy):
    name: ClassVar[str] = ""
    params = ParamSet()

    def symbol_targets(self, bars: pd.DataFrame) -> pd.Series:
        return pd.Series(0.9, index=bars.index)
