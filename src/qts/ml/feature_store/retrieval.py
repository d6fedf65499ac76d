"""Point-in-time correct training sets: each label row gets, per feature, the values of the
latest row whose `known_at` is at or before the label time (an as-of join)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

from .protocols import FeatureKey, OfflineStore


def to_epoch_ms(values: pd.Series | pd.DatetimeIndex | Sequence[object]) -> np.ndarray:
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return np.asarray(index.as_unit("ms").asi8, dtype=np.int64)


def _dominant_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows that are, at some time, the latest bar known for their entity, sorted by known_at.

    A row arriving late (known after a later bar's row) never answers "the latest bar known at
    T": the later bar is already known. Dropping such rows makes `known_at` increase with `ts`,
    so an as-of join on `known_at` returns the latest known bar.
    """
    rows = rows.sort_values(["entity", "ts"], kind="stable")
    known = rows["known_at"].to_numpy(np.int64)
    later_min = (
        rows.groupby("entity", sort=False)["known_at"]
        .transform(lambda k: k[::-1].cummin()[::-1].shift(-1))
        .to_numpy(np.float64)
    )
    keep = np.isnan(later_min) | (known < later_min)
    return rows.loc[keep].sort_values(["known_at", "ts"], kind="stable")


def point_in_time_join(
    store: OfflineStore,
    keys: Sequence[FeatureKey],
    timeframe: str,
    labels: pd.DataFrame,
    max_age: pd.Timedelta | None = None,
    prefix_columns: bool = False,
) -> pd.DataFrame:
    """`labels` has columns `entity` and `label_time` (plus anything else, kept as is).

    Returns the label rows in their original order with the feature columns added; a feature
    is NaN where nothing was known yet (or the last value is older than `max_age`).
    """
    for col in ("entity", "label_time"):
        if col not in labels.columns:
            raise ValidationError(f"labels need a {col!r} column")
    left = labels.copy()
    left["_row"] = np.arange(len(left))
    left["_t"] = to_epoch_ms(left["label_time"])
    left = left.sort_values("_t", kind="stable")
    entities = sorted(left["entity"].astype(str).unique())
    horizon = int(left["_t"].max()) if len(left) else None
    tolerance = int(max_age / pd.Timedelta(milliseconds=1)) if max_age is not None else None
    result = left
    for key in keys:
        rows = _dominant_rows(store.read(key, timeframe, entities, known_at_max=horizon))
        renamed = {c: f"{key.name}.{c}" for c in key.columns} if prefix_columns else {}
        right = rows.drop(columns=["ts"]).rename(columns={"known_at": "_known", **renamed})
        right["entity"] = right["entity"].astype(str)
        result["entity"] = result["entity"].astype(str)
        result = pd.merge_asof(
            result,
            right,
            left_on="_t",
            right_on="_known",
            by="entity",
            direction="backward",
            allow_exact_matches=True,
            tolerance=tolerance,
        ).drop(columns=["_known"])
    result = result.sort_values("_row", kind="stable").drop(columns=["_row", "_t"])
    result.index = labels.index
    return result
