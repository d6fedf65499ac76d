"""Tabular datasets (numpy/pandas) for gradient boosting: one row per (entity, time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError


@dataclass
class TabularDataset:
    """Features X, target y, the sample time and label end of each row (for purged splits)."""

    X: pd.DataFrame
    y: pd.Series
    times: pd.DatetimeIndex
    label_ends: pd.DatetimeIndex
    entities: pd.Series | None = None

    def __post_init__(self) -> None:
        if not (len(self.X) == len(self.y) == len(self.times) == len(self.label_ends)):
            raise ValidationError("X, y, times and label_ends differ in length")

    @classmethod
    def from_frames(
        cls,
        features: pd.DataFrame,
        target: pd.Series,
        label_ends: pd.Series,
        entity: str | None = None,
    ) -> TabularDataset:
        """Align features (indexed by time) with a target; rows with a NaN target or label end
        are dropped, NaN features are kept (LightGBM handles them)."""
        if not (features.index.equals(target.index) and features.index.equals(label_ends.index)):
            raise ValidationError("features, target and label_ends must share one index")
        ok = target.notna().to_numpy() & label_ends.notna().to_numpy()
        idx = features.index[ok]
        ents = pd.Series([entity] * int(ok.sum()), dtype=object) if entity is not None else None
        return cls(
            X=features.loc[ok].reset_index(drop=True),
            y=target.loc[ok].reset_index(drop=True),
            times=pd.DatetimeIndex(idx),
            label_ends=pd.DatetimeIndex(label_ends.loc[ok]),
            entities=ents,
        )

    @classmethod
    def concat(cls, parts: list[TabularDataset]) -> TabularDataset:
        """Several entities in one time-sorted dataset."""
        if not parts:
            raise ValidationError("no datasets to concatenate")
        times = np.concatenate([p.times.asi8 for p in parts])
        order = np.argsort(times, kind="stable")

        def cat(items: list[Any]) -> Any:
            return pd.concat(items, ignore_index=True).iloc[order].reset_index(drop=True)

        ents = (
            cat([p.entities for p in parts]) if all(p.entities is not None for p in parts) else None
        )
        return cls(
            X=cat([p.X for p in parts]),
            y=cat([p.y for p in parts]),
            times=pd.DatetimeIndex(np.concatenate([p.times for p in parts])[order]),
            label_ends=pd.DatetimeIndex(np.concatenate([p.label_ends for p in parts])[order]),
            entities=ents,
        )

    def subset(self, positions: np.ndarray) -> TabularDataset:
        return TabularDataset(
            X=self.X.iloc[positions].reset_index(drop=True),
            y=self.y.iloc[positions].reset_index(drop=True),
            times=self.times[positions],
            label_ends=self.label_ends[positions],
            entities=None if self.entities is None else self.entities.iloc[positions],
        )

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X.to_numpy(np.float64), self.y.to_numpy(np.float64)

    def to_lightgbm(self, **params: Any) -> Any:
        """A `lightgbm.Dataset` (lightgbm imported only here)."""
        import lightgbm

        X, y = self.to_numpy()
        return lightgbm.Dataset(X, label=y, feature_name=list(self.X.columns), params=params)
