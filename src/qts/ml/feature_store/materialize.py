"""Writing computed features to the offline store and copying the latest to the online store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..features.context import FeatureContext
from ..features.definition import FeatureDefinition
from .protocols import FeatureKey, OfflineStore, OnlineStore
from .retrieval import to_epoch_ms

# Writes that commit out of clock order are caught by re-reading a little before the watermark;
# online puts are idempotent, so the overlap costs only a few repeated rows.
WATERMARK_OVERLAP_MS = 60_000


def write_feature_frame(
    store: OfflineStore,
    key: FeatureKey,
    timeframe: str,
    entity: str,
    frame: pd.DataFrame,
    ctx: FeatureContext | None = None,
    drop_warmup: bool = False,
) -> int:
    """Write a computed frame; each row is known at its bar's close."""
    ctx = ctx or FeatureContext(timeframe=timeframe)
    if drop_warmup:
        frame = frame.dropna(how="all")
    index = pd.DatetimeIndex(frame.index)
    ts = to_epoch_ms(index)
    known_at = to_epoch_ms(ctx.bar_close_times(index)) if len(index) else ts
    values = np.ascontiguousarray(frame[list(key.columns)].to_numpy(dtype=np.float64))
    return store.write(key, timeframe, entity, ts, known_at, values)


def compute_and_write(
    store: OfflineStore,
    definition: FeatureDefinition,
    bars: pd.DataFrame,
    timeframe: str,
    entity: str,
    ctx: FeatureContext | None = None,
) -> tuple[FeatureKey, int]:
    ctx = ctx or FeatureContext(symbol=entity, timeframe=timeframe)
    frame = definition.compute(bars, ctx)
    key = FeatureKey.of(definition, list(frame.columns))
    return key, write_feature_frame(store, key, timeframe, entity, frame, ctx)


@dataclass(frozen=True)
class MaterializeResult:
    feature: str
    entities: int
    stored: int


def materialize(
    offline: OfflineStore,
    online: OnlineStore,
    keys: Sequence[FeatureKey],
    timeframe: str,
    entities: Sequence[str] | None = None,
    incremental: bool = True,
    overlap_ms: int = WATERMARK_OVERLAP_MS,
) -> list[MaterializeResult]:
    """Copy each entity's latest row to the online store.

    Incremental runs only look at entities with rows written since the last run's watermark; for
    those, the latest row over all their history is used, so a backfill of old bars never
    replaces a newer online vector.
    """
    results = []
    for key in keys:
        watermark = online.get_watermark(key, timeframe) if incremental else None
        # Rows written after (watermark - overlap); `since` is inclusive, hence the + 1.
        since = None if watermark is None else watermark - overlap_ms + 1
        touched, newest = offline.entities_written_since(key, timeframe, since)
        if entities is not None:
            allowed = set(entities)
            touched = [e for e in touched if e in allowed]
        latest = offline.latest(key, timeframe, touched) if touched else None
        stored = 0
        if latest is not None and len(latest):
            values = latest[list(key.columns)].to_numpy(dtype=np.float64)
            rows = [
                (str(e), int(t), values[i])
                for i, (e, t) in enumerate(zip(latest["entity"], latest["ts"], strict=True))
            ]
            stored = online.put_many(key, timeframe, rows)
        if newest is not None and entities is None:
            online.set_watermark(key, timeframe, newest)
        results.append(MaterializeResult(key.id, len(touched), stored))
    return results
