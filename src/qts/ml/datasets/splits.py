"""Purged walk-forward splits with an embargo, cut on timestamps.

Folds are cut on distinct sample times, never on row counts: every sample of a timestamp (the
whole universe present that day) falls in the same fold, so no date is split between folds.
A sample at time t whose label uses information up to `label_end` occupies [t, label_end]. A
training sample is dropped (purged) when that interval comes within `embargo` of the test period
[first test time, last test label end], so no training label overlaps the test period and a
gap of at least `embargo` separates them.

`validation_split` cuts the last dates of a training set off for early stopping, purging the
training samples whose labels reach into them (a gap of the label horizon).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # positions into the sample arrays
    test: np.ndarray
    test_start: pd.Timestamp
    test_end: pd.Timestamp  # last label end of the test samples


def _as_times(values: pd.Index | pd.Series | np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(values), utc=True))


def purge(
    candidates: np.ndarray,
    times: pd.DatetimeIndex,
    label_ends: pd.DatetimeIndex,
    test_start: pd.Timestamp,
    test_end: pd.Timestamp,
    embargo: pd.Timedelta,
) -> np.ndarray:
    """Candidates whose [time, label_end] stays more than `embargo` away from the test period."""
    t = times[candidates]
    e = label_ends[candidates]
    before = e < test_start - embargo
    after = t > test_end + embargo
    return candidates[np.asarray(before | after)]


def purged_walk_forward(
    times: pd.Index | pd.Series | np.ndarray,
    label_ends: pd.Index | pd.Series | np.ndarray,
    n_splits: int = 5,
    test_size: int | None = None,
    train_size: int | None = None,
    embargo: pd.Timedelta = pd.Timedelta(0),
    min_train: int = 1,
) -> Iterator[Split]:
    """Walk forward through time-sorted samples: each test block follows its training data.

    `test_size` distinct timestamps per fold (default: the last half of the timestamps split
    into `n_splits`); training takes every sample before the test block (expanding) or those
    of the last `train_size` timestamps, then purges. Samples without a label end (NaT) are
    never used.
    """
    t = _as_times(times)
    e = _as_times(label_ends)
    if len(t) != len(e):
        raise ValidationError("times and label_ends differ in length")
    if len(t) > 1 and not t.is_monotonic_increasing:
        raise ValidationError("samples must be sorted by time")
    if np.any(np.asarray(e[~e.isna()] < t[~e.isna()])):
        raise ValidationError("a label ends before its sample time")
    if n_splits < 1:
        raise ValidationError("n_splits must be at least 1")
    usable = np.nonzero(~np.asarray(e.isna()))[0]
    stamps = t[usable].asi8
    dates = np.unique(stamps)
    n = len(dates)
    size = test_size or max(1, n // (2 * n_splits))
    first_test = n - n_splits * size
    if first_test < 1:
        raise ValidationError(f"{n} timestamps are too few for {n_splits} test blocks of {size}")
    for k in range(n_splits):
        lo_date = dates[first_test + k * size]
        hi_date = dates[first_test + (k + 1) * size - 1]
        test = usable[(stamps >= lo_date) & (stamps <= hi_date)]
        start = first_test + k * size
        earliest = dates[0] if train_size is None else dates[max(0, start - train_size)]
        candidates = usable[(stamps < lo_date) & (stamps >= earliest)]
        test_start, test_end = t[test[0]], e[test].max()
        train = purge(candidates, t, e, test_start, test_end, embargo)
        if len(train) < min_train:
            continue
        yield Split(train, test, test_start, test_end)


def validation_split(
    times: pd.Index | pd.Series | np.ndarray,
    label_ends: pd.Index | pd.Series | np.ndarray,
    fraction: float = 0.2,
    min_rows: int = 20,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(fit rows, validation rows) of a training set: the last `fraction` of its timestamps
    validate, and fit rows whose label ends at or after the first validation time are purged.
    None when either side would hold fewer than `min_rows` rows (train without early stopping).
    """
    t, e = _as_times(times), _as_times(label_ends)
    if len(t) != len(e):
        raise ValidationError("times and label_ends differ in length")
    if not 0 < fraction < 1:
        return None
    dates = np.unique(t.asi8)
    cut = int(len(dates) * (1 - fraction))
    if cut < 1 or cut >= len(dates):
        return None
    val_start = dates[cut]
    stamps = t.asi8
    val = np.nonzero(stamps >= val_start)[0]
    known = ~np.asarray(e.isna())
    fit = np.nonzero((stamps < val_start) & known & np.asarray(e.asi8 < val_start))[0]
    if len(fit) < min_rows or len(val) < min_rows:
        return None
    return fit, val


def _bound(value: str | pd.Timestamp, tz: object, end_of_day: bool) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"not a date: {value!r}") from exc
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)  # type: ignore[arg-type]
    if end_of_day and ts == ts.normalize():  # a bare date keeps that whole day
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(1)
    return ts


def training_window(
    bars_by_symbol: Mapping[str, pd.DataFrame],
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """Each symbol's bars inside [start, end] (bare dates inclusive of the whole day): a model
    trained on these never sees a price after `end`, so what follows is a clean hold-out."""
    if (
        start is not None
        and end is not None
        and _bound(start, None, False) > _bound(end, None, False)
    ):
        raise ValidationError(f"start {start} is after end {end}")
    out = {}
    for symbol, bars in bars_by_symbol.items():
        index = pd.DatetimeIndex(bars.index)
        keep = np.ones(len(index), dtype=bool)
        if start is not None:
            keep &= np.asarray(index >= _bound(start, index.tz, end_of_day=False))
        if end is not None:
            keep &= np.asarray(index <= _bound(end, index.tz, end_of_day=True))
        out[symbol] = bars.loc[keep]
    if not any(len(b) for b in out.values()):
        raise ValidationError(f"no bars between {start} and {end}")
    return out
