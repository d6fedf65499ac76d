"""What the feature store needs from storage, as protocols; adapters are injected.

Times crossing these interfaces are epoch milliseconds (UTC) as int64: `ts` is the bar's open
time (it names the row), `known_at` is when the values became available (the bar's close), and
`written_at` is when the row reached the store (it drives incremental materialisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from qts.core.errors import ValidationError

META_COLUMNS = ("entity", "ts", "known_at")


@dataclass(frozen=True)
class FeatureKey:
    """One feature version and the columns its vectors hold, in order."""

    name: str
    version: str
    columns: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @classmethod
    def of(cls, definition: object, columns: Sequence[str] | None = None) -> FeatureKey:
        cols = columns if columns is not None else getattr(definition, "columns", None)
        if not cols:
            raise ValidationError(f"columns of feature {getattr(definition, 'name', '?')} unknown")
        return cls(str(definition.name), str(definition.version), tuple(cols))  # type: ignore[attr-defined]


@dataclass
class OnlineVector:
    """The latest values of one entity: column -> value, and the bar time of each feature."""

    entity: str
    timeframe: str
    values: dict[str, float] = field(default_factory=dict)
    as_of: dict[str, int] = field(default_factory=dict)  # feature id -> bar ts (epoch ms)

    def to_dict(self) -> dict[str, object]:
        """JSON-safe form (NaN becomes None), as the API serves it."""
        return {
            "entity": self.entity,
            "timeframe": self.timeframe,
            "as_of": {
                k: pd.Timestamp(v, unit="ms", tz="UTC").isoformat() for k, v in self.as_of.items()
            },
            # v != v only for NaN; float() turns numpy scalars into plain floats for JSON.
            "values": {k: (None if v != v else float(v)) for k, v in self.values.items()},
        }


@runtime_checkable
class OfflineStore(Protocol):
    """Feature rows by (entity, ts, feature version), kept for training."""

    def write(
        self,
        key: FeatureKey,
        timeframe: str,
        entity: str,
        ts: np.ndarray,
        known_at: np.ndarray,
        values: np.ndarray,
    ) -> int:
        """Upsert rows (values shaped (rows, len(key.columns))); returns the rows written."""
        ...

    def read(
        self,
        key: FeatureKey,
        timeframe: str,
        entities: Sequence[str],
        known_at_max: int | None = None,
        ts_start: int | None = None,
        ts_end: int | None = None,
    ) -> pd.DataFrame:
        """Columns `entity, ts, known_at` then `key.columns`, sorted by entity and ts."""
        ...

    def latest(
        self, key: FeatureKey, timeframe: str, entities: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The row with the greatest ts of each entity, same columns as `read`."""
        ...

    def entities_written_since(
        self, key: FeatureKey, timeframe: str, since: int | None
    ) -> tuple[list[str], int | None]:
        """Entities with rows written at or after `since` (all if None), and the newest write."""
        ...


@runtime_checkable
class OnlineStore(Protocol):
    """Latest feature vector per entity for low-latency inference."""

    def put_many(
        self, key: FeatureKey, timeframe: str, rows: Sequence[tuple[str, int, np.ndarray]]
    ) -> int:
        """Store (entity, ts, values) unless a newer ts is already stored; returns rows stored."""
        ...

    def get(
        self, timeframe: str, entity: str, keys: Sequence[FeatureKey] | None = None
    ) -> OnlineVector | None: ...

    def get_many(
        self, timeframe: str, entities: Sequence[str], keys: Sequence[FeatureKey] | None = None
    ) -> dict[str, OnlineVector]: ...

    def get_watermark(self, key: FeatureKey, timeframe: str) -> int | None: ...

    def set_watermark(self, key: FeatureKey, timeframe: str, value: int) -> None: ...


def check_rows(key: FeatureKey, ts: np.ndarray, known_at: np.ndarray, values: np.ndarray) -> None:
    """Reject malformed writes before anything is stored."""
    if values.ndim != 2 or values.shape[1] != len(key.columns):
        raise ValidationError(
            f"{key.id}: values must be shaped (rows, {len(key.columns)}), got {values.shape}"
        )
    if not (len(ts) == len(known_at) == len(values)):
        raise ValidationError(f"{key.id}: ts, known_at and values differ in length")
    if len(ts) and (np.any(known_at < ts) or len(np.unique(ts)) != len(ts)):
        raise ValidationError(f"{key.id}: known_at before ts, or duplicate ts, in a write")
