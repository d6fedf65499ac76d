"""What a feature may see besides the bars: the timeframe and data known at given times."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from qts.core.errors import ValidationError

_TIMEFRAME = re.compile(r"^(\d+)(m|h|d|w)$")
_UNIT = {"m": "min", "h": "h", "d": "D", "w": "W"}


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    match = _TIMEFRAME.match(timeframe.strip())
    if not match:
        raise ValidationError(f"unknown timeframe {timeframe!r} (expected e.g. 1m, 5m, 1h, 1d)")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "w":
        return pd.Timedelta(days=7 * count)
    return pd.Timedelta(count, unit=_UNIT[unit])


@dataclass(frozen=True)
class FeatureContext:
    """Side inputs of a feature computation.

    `fundamentals`: long frame `symbol, metric, period_end, known_at, value` (one symbol's rows).
    `news`: frame with `known_at` (UTC) and `headline` (and optional `body`).
    Rows of those frames are used only once their `known_at` has passed.
    """

    symbol: str = ""
    timeframe: str | None = None
    fundamentals: pd.DataFrame | None = None
    news: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def bar_close_times(self, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """When each bar's values are known: its open time plus the bar duration.

        Without a timeframe the duration is the smallest spacing seen, which is conservative
        enough for regular series.
        """
        if self.timeframe:
            return index + timeframe_delta(self.timeframe)
        if len(index) < 2:
            return index + pd.Timedelta(days=1)
        return index + pd.Series(index).diff().dropna().min()

    def known_by(self, cutoff: pd.Timestamp) -> FeatureContext:
        """This context with side data restricted to what was known at `cutoff`."""

        def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
            if frame is None or frame.empty:
                return frame
            return frame.loc[pd.to_datetime(frame["known_at"], utc=True) <= cutoff]

        return replace(self, fundamentals=cut(self.fundamentals), news=cut(self.news))
