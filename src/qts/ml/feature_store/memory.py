"""In-process stores: the offline store for notebooks and tests, the online store of embedded
mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .protocols import META_COLUMNS, FeatureKey, OnlineVector, check_rows


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class InMemoryOfflineStore:
    """Offline store in dictionaries of arrays; same semantics as the SQL adapter."""

    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self._clock = clock  # epoch ms of each write
        # (feature id, timeframe, entity) -> {ts: (known_at, written_at, values)}
        self._rows: dict[tuple[str, str, str], dict[int, tuple[int, int, np.ndarray]]] = {}
        self._lock = threading.Lock()

    def write(
        self,
        key: FeatureKey,
        timeframe: str,
        entity: str,
        ts: np.ndarray,
        known_at: np.ndarray,
        values: np.ndarray,
    ) -> int:
        check_rows(key, ts, known_at, values)
        written = self._clock()
        with self._lock:
            rows = self._rows.setdefault((key.id, timeframe, entity), {})
            for t, k, v in zip(ts.tolist(), known_at.tolist(), values, strict=True):
                rows[int(t)] = (int(k), written, np.array(v, dtype=np.float64))
        return len(ts)

    def _frame(
        self, key: FeatureKey, items: list[tuple[str, int, int, np.ndarray]]
    ) -> pd.DataFrame:
        meta = pd.DataFrame([(e, t, k) for e, t, k, _ in items], columns=list(META_COLUMNS)).astype(
            {"entity": "object", "ts": "int64", "known_at": "int64"}
        )
        values = np.vstack([v for *_, v in items]) if items else np.empty((0, len(key.columns)))
        frame = pd.concat([meta, pd.DataFrame(values, columns=list(key.columns))], axis=1)
        return frame.sort_values(["entity", "ts"], kind="stable").reset_index(drop=True)

    def read(
        self,
        key: FeatureKey,
        timeframe: str,
        entities: Sequence[str],
        known_at_max: int | None = None,
        ts_start: int | None = None,
        ts_end: int | None = None,
    ) -> pd.DataFrame:
        items = []
        with self._lock:
            for entity in entities:
                for t, (k, _, v) in self._rows.get((key.id, timeframe, entity), {}).items():
                    if known_at_max is not None and k > known_at_max:
                        continue
                    if (ts_start is not None and t < ts_start) or (
                        ts_end is not None and t > ts_end
                    ):
                        continue
                    items.append((entity, t, k, v))
        return self._frame(key, items)

    def _entities(self, key: FeatureKey, timeframe: str) -> list[str]:
        return sorted(e for (f, tf, e) in self._rows if f == key.id and tf == timeframe)

    def latest(
        self, key: FeatureKey, timeframe: str, entities: Sequence[str] | None = None
    ) -> pd.DataFrame:
        items = []
        with self._lock:
            for entity in entities if entities is not None else self._entities(key, timeframe):
                rows = self._rows.get((key.id, timeframe, entity))
                if rows:
                    t = max(rows)
                    items.append((entity, t, rows[t][0], rows[t][2]))
        return self._frame(key, items)

    def entities_written_since(
        self, key: FeatureKey, timeframe: str, since: int | None
    ) -> tuple[list[str], int | None]:
        found, newest = [], None
        with self._lock:
            for entity in self._entities(key, timeframe):
                written = max(w for _, w, _ in self._rows[(key.id, timeframe, entity)].values())
                if since is None or written >= since:
                    found.append(entity)
                newest = written if newest is None else max(newest, written)
        return found, newest


class InProcessOnlineStore:
    """Latest vectors in a dict (embedded mode); thread-safe, no expiry."""

    def __init__(self) -> None:
        # (timeframe, entity) -> feature id -> (ts, columns, values)
        self._data: dict[tuple[str, str], dict[str, tuple[int, tuple[str, ...], np.ndarray]]] = {}
        self._watermarks: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def put_many(
        self, key: FeatureKey, timeframe: str, rows: Sequence[tuple[str, int, np.ndarray]]
    ) -> int:
        stored = 0
        with self._lock:
            for entity, ts, values in rows:
                slot = self._data.setdefault((timeframe, entity), {})
                current = slot.get(key.id)
                if current is not None and current[0] > ts:
                    continue
                slot[key.id] = (int(ts), key.columns, np.array(values, dtype=np.float64))
                stored += 1
        return stored

    def get(
        self, timeframe: str, entity: str, keys: Sequence[FeatureKey] | None = None
    ) -> OnlineVector | None:
        with self._lock:
            slot = self._data.get((timeframe, entity))
            if not slot:
                return None
            wanted = {k.id for k in keys} if keys is not None else None
            vector = OnlineVector(entity, timeframe)
            for fid, (ts, columns, values) in sorted(slot.items(), key=lambda kv: kv[1][0]):
                if wanted is not None and fid not in wanted:
                    continue
                vector.as_of[fid] = ts
                vector.values.update(zip(columns, values.tolist(), strict=True))
        return vector if vector.as_of else None

    def get_many(
        self, timeframe: str, entities: Sequence[str], keys: Sequence[FeatureKey] | None = None
    ) -> dict[str, OnlineVector]:
        out = {}
        for entity in entities:
            vector = self.get(timeframe, entity, keys)
            if vector is not None:
                out[entity] = vector
        return out

    def get_watermark(self, key: FeatureKey, timeframe: str) -> int | None:
        return self._watermarks.get((key.id, timeframe))

    def set_watermark(self, key: FeatureKey, timeframe: str, value: int) -> None:
        self._watermarks[(key.id, timeframe)] = int(value)
