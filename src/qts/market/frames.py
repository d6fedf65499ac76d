"""The bars DataFrame shape shared by every provider, and timeframe arithmetic."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

_TIMEFRAME_RE = re.compile(r"^(\d+)(s|m|h|d|w|M)$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def empty_bars() -> pd.DataFrame:
    """A bars frame with no rows but the right index and dtypes."""
    index = pd.DatetimeIndex([], tz="UTC", name="ts")
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in BAR_COLUMNS}, index=index)


def timeframe_ms(timeframe: str) -> int:
    """Length of a bar in milliseconds (`1M` counts as 30 days: only used for paging/gaps)."""
    match = _TIMEFRAME_RE.match(timeframe)
    if not match:
        raise ValidationError(
            f"unknown timeframe {timeframe!r}: use e.g. 1m, 5m, 1h, 4h, 1d, 1w",
            details={"timeframe": timeframe},
        )
    count, unit = int(match.group(1)), match.group(2)
    if count <= 0:
        raise ValidationError(f"timeframe {timeframe!r} must be positive")
    if unit == "M":
        return count * 30 * 86_400_000
    return count * _UNIT_MS[unit]


def is_daily_or_longer(timeframe: str) -> bool:
    return timeframe_ms(timeframe) >= 86_400_000


def normalize_bars(df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` in the canonical shape: UTC index named ts, float64 OHLCV columns, sorted."""
    out = df.loc[:, list(BAR_COLUMNS)].astype("float64")
    index = pd.DatetimeIndex(out.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    out.index = index.as_unit("ns").rename("ts")
    if not out.index.is_monotonic_increasing:
        out = out.sort_index()
    return out


def bars_from_epoch_ms(ts_ms: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """Build a bars frame from epoch-ms open times and an (n, 5) OHLCV array."""
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ms, dtype="int64"), unit="ms", utc=True))
    frame = pd.DataFrame(np.asarray(values, dtype="float64"), columns=list(BAR_COLUMNS))
    frame.index = index.as_unit("ns").rename("ts")
    return frame


def index_to_epoch_ms(index: pd.DatetimeIndex) -> np.ndarray:
    """Epoch milliseconds of a UTC DatetimeIndex (the storage key of `bars.ts`)."""
    return np.asarray(index.as_unit("ms").asi8, dtype="int64")


def infer_timeframe(index: pd.DatetimeIndex) -> str | None:
    """The timeframe string of a bar index from its median spacing (None for < 2 bars)."""
    if len(index) < 2:
        return None
    step_ms = int(np.median(np.diff(pd.DatetimeIndex(index).as_unit("ns").asi8)) // 1_000_000)
    for unit, unit_ms in (
        ("w", _UNIT_MS["w"]),
        ("d", _UNIT_MS["d"]),
        ("h", _UNIT_MS["h"]),
        ("m", _UNIT_MS["m"]),
        ("s", _UNIT_MS["s"]),
    ):
        if step_ms >= unit_ms and step_ms % unit_ms == 0:
            return f"{step_ms // unit_ms}{unit}"
    return None
