"""Calendar features with cyclical (sin/cos) encodings.

Everything here is known in advance from the bar's own timestamp (and, optionally, the exchange
calendar, which is published ahead of time), so none of it can leak the future.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .context import FeatureContext
from .definition import FeatureDefinition

TIME_COLUMNS = (
    "time_dow", "time_dow_sin", "time_dow_cos", "time_month", "time_month_sin", "time_month_cos",
    "time_dom_sin", "time_dom_cos", "time_of_day_sin", "time_of_day_cos", "time_in_session",
    "time_days_to_month_end", "time_is_month_end_week",
)  # fmt: skip


def _session_fraction(local: pd.DatetimeIndex, calendar: str | None) -> np.ndarray:
    """Fraction of the trading session elapsed at the bar's open, in [0, 1].

    With an exchange calendar, the position within that day's session (daily bars: 0); without
    one (24/7 markets), the fraction of the UTC day.
    """
    day_fraction = (local.hour * 3600 + local.minute * 60 + local.second) / 86400.0
    if not calendar:
        return np.asarray(day_fraction, dtype=np.float64)
    import exchange_calendars as xcals

    cal = xcals.get_calendar(calendar)
    utc = local.tz_convert("UTC")
    days = utc.tz_convert(cal.tz).normalize().tz_localize(None)
    first, last = cal.first_session, cal.last_session
    out = np.zeros(len(local), dtype=np.float64)
    for day in pd.unique(days):
        if not (first <= day <= last) or not cal.is_session(day):
            continue
        open_, close = cal.session_open(day), cal.session_close(day)
        mask = np.asarray(days == day)
        elapsed = (utc[mask] - open_).total_seconds() / (close - open_).total_seconds()
        out[mask] = np.clip(np.asarray(elapsed, dtype=np.float64), 0.0, 1.0)
    return out


def compute_time(
    bars: pd.DataFrame, ctx: FeatureContext, tz: str = "UTC", calendar: str | None = None
) -> pd.DataFrame:
    index = pd.DatetimeIndex(bars.index)
    local = index.tz_convert(tz) if index.tz is not None else index.tz_localize("UTC")
    dow = np.asarray(local.day_of_week, dtype=np.float64)
    month = np.asarray(local.month, dtype=np.float64)
    dom = np.asarray(local.day, dtype=np.float64)
    days_in_month = np.asarray(local.days_in_month, dtype=np.float64)
    tod = np.asarray(
        (local.hour * 3600 + local.minute * 60 + local.second) / 86400.0, dtype=np.float64
    )
    two_pi = 2.0 * np.pi
    to_end = days_in_month - dom
    data = {
        "time_dow": dow,
        "time_dow_sin": np.sin(two_pi * dow / 7.0),
        "time_dow_cos": np.cos(two_pi * dow / 7.0),
        "time_month": month,
        "time_month_sin": np.sin(two_pi * (month - 1) / 12.0),
        "time_month_cos": np.cos(two_pi * (month - 1) / 12.0),
        "time_dom_sin": np.sin(two_pi * (dom - 1) / days_in_month),
        "time_dom_cos": np.cos(two_pi * (dom - 1) / days_in_month),
        "time_of_day_sin": np.sin(two_pi * tod),
        "time_of_day_cos": np.cos(two_pi * tod),
        "time_in_session": _session_fraction(local, calendar),
        "time_days_to_month_end": to_end,
        "time_is_month_end_week": (to_end < 7).astype(np.float64),
    }
    return pd.DataFrame(data, index=bars.index, columns=list(TIME_COLUMNS))


def _time_params() -> dict[str, Any]:
    return {"tz": "UTC", "calendar": None}


TIME = FeatureDefinition(
    name="time",
    fn=compute_time,
    group="time",
    params=_time_params(),
    inputs=(),
    columns=TIME_COLUMNS,
    description="Day of week, month, day of month, time of day and in session, days to month "
    "end, with sin/cos encodings",
    helpers=(_session_fraction,),
)
