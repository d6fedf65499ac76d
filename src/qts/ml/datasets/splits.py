"""Purged walk-forward splits with an embargo.

A sample at time t whose label uses information up to `label_end` occupies [t, label_end]. A
training sample is dropped (purged) when that interval comes within `embargo` of the test period
[first test time, last test label end], so no training label overlaps the test period and a
gap of at least `embargo` separates them.
"""

from __future__ import annotations

from collections.abc import Iterator
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

    `test_size` samples per fold (default: the last half of the data split into `n_splits`);
    training takes every earlier sample (expanding) or the last `train_size` ones, then purges.
    Samples without a label end (NaT) are never used.
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
    n = len(usable)
    size = test_size or max(1, n // (2 * n_splits))
    first_test = n - n_splits * size
    if first_test < min_train:
        raise ValidationError(f"{n} samples are too few for {n_splits} test blocks of {size}")
    for k in range(n_splits):
        test = usable[first_test + k * size : first_test + (k + 1) * size]
        start = first_test + k * size
        lo = 0 if train_size is None else max(0, start - train_size)
        candidates = usable[lo:start]
        test_start, test_end = t[test[0]], e[test].max()
        train = purge(candidates, t, e, test_start, test_end, embargo)
        if len(train) < min_train:
            continue
        yield Split(train, test, test_start, test_end)
