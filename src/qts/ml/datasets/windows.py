"""Sliding windows for sequence models."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError


def sliding_windows(values: np.ndarray, lookback: int) -> np.ndarray:
    """Read-only view shaped (n - lookback + 1, lookback, features); window i ends at row
    i + lookback - 1, so it only holds rows up to its own time."""
    if values.ndim == 1:
        values = values[:, None]
    if lookback < 1 or lookback > len(values):
        raise ValidationError(f"lookback {lookback} does not fit {len(values)} rows")
    view = np.lib.stride_tricks.sliding_window_view(values, lookback, axis=0)
    return view.transpose(0, 2, 1)


def window_dataset(
    features: pd.DataFrame, target: pd.Series, lookback: int
) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """Windows of `features` with the target of each window's last row; windows touching a NaN
    feature or a NaN target are dropped. Returns (X, y, end times)."""
    if not features.index.equals(target.index):
        raise ValidationError("features and target must share one index")
    values = features.to_numpy(np.float64)
    windows = sliding_windows(values, lookback)
    ends = features.index[lookback - 1 :]
    y = target.to_numpy(np.float64)[lookback - 1 :]
    ok = np.isfinite(windows).all(axis=(1, 2)) & np.isfinite(y)
    return np.ascontiguousarray(windows[ok]), y[ok], pd.DatetimeIndex(ends[ok])
