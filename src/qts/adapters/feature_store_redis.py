"""Online feature store in Redis hashes with a TTL (scale-out mode).

Key `<prefix>:v:<timeframe>:<entity>` is a hash: field `<feature>@<version>` holds the vector as
little-endian float64 bytes, field `<feature>@<version>:ts` the bar time in epoch ms. Column
names live once per feature version under `<prefix>:cols:<feature>@<version>`. A Lua script
makes "store unless a newer bar is stored" atomic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import redis

from qts.ml.feature_store.protocols import FeatureKey, OnlineVector

_DTYPE = np.dtype("<f8")
_PUT_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], ARGV[1] .. ':ts')
if cur and tonumber(cur) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3], ARGV[1] .. ':ts', ARGV[2])
if tonumber(ARGV[4]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
"""


class RedisOnlineStore:
    """Implements `qts.ml.feature_store.OnlineStore`."""

    def __init__(
        self,
        client: redis.Redis | str,
        prefix: str = "qts:features",
        ttl_seconds: int = 7 * 24 * 3600,
    ) -> None:
        self.redis = redis.Redis.from_url(client) if isinstance(client, str) else client
        self.prefix = prefix
        self.ttl_ms = int(ttl_seconds * 1000)
        self._put = self.redis.register_script(_PUT_IF_NEWER)
        self._columns: dict[str, tuple[str, ...]] = {}

    def _key(self, timeframe: str, entity: str) -> str:
        return f"{self.prefix}:v:{timeframe}:{entity}"

    def put_many(
        self, key: FeatureKey, timeframe: str, rows: Sequence[tuple[str, int, np.ndarray]]
    ) -> int:
        if not rows:
            return 0
        self.redis.set(f"{self.prefix}:cols:{key.id}", json.dumps(list(key.columns)))
        self._columns[key.id] = key.columns
        pipe = self.redis.pipeline(transaction=False)
        for entity, ts, values in rows:
            blob = np.ascontiguousarray(values, dtype=_DTYPE).tobytes()
            self._put(
                keys=[self._key(timeframe, entity)],
                args=[key.id, int(ts), blob, self.ttl_ms],
                client=pipe,
            )
        return int(sum(pipe.execute()))

    def _columns_of(self, fid: str) -> tuple[str, ...] | None:
        cols = self._columns.get(fid)
        if cols is None:
            raw = self.redis.get(f"{self.prefix}:cols:{fid}")
            if raw is None:
                return None
            cols = self._columns[fid] = tuple(json.loads(raw))
        return cols

    def _decode(
        self, timeframe: str, entity: str, raw: dict[bytes, bytes], wanted: set[str] | None
    ) -> OnlineVector | None:
        if not raw:
            return None
        vector = OnlineVector(entity, timeframe)
        items = []
        for field, blob in raw.items():
            fid = field.decode()
            if fid.endswith(":ts") or (wanted is not None and fid not in wanted):
                continue
            stamp = raw.get(field + b":ts")
            items.append((int(stamp) if stamp is not None else 0, fid, blob))
        for ts, fid, blob in sorted(items):  # on a column clash the newest bar wins
            cols = self._columns_of(fid)
            if cols is None:
                continue
            vector.as_of[fid] = ts
            vector.values.update(zip(cols, np.frombuffer(blob, dtype=_DTYPE).tolist(), strict=True))
        return vector if vector.as_of else None

    def get(
        self, timeframe: str, entity: str, keys: Sequence[FeatureKey] | None = None
    ) -> OnlineVector | None:
        raw: Any = self.redis.hgetall(self._key(timeframe, entity))
        return self._decode(timeframe, entity, raw, {k.id for k in keys} if keys else None)

    def get_many(
        self, timeframe: str, entities: Sequence[str], keys: Sequence[FeatureKey] | None = None
    ) -> dict[str, OnlineVector]:
        pipe = self.redis.pipeline(transaction=False)
        for entity in entities:
            pipe.hgetall(self._key(timeframe, entity))
        wanted = {k.id for k in keys} if keys else None
        out = {}
        for entity, raw in zip(entities, pipe.execute(), strict=True):
            vector = self._decode(timeframe, entity, raw, wanted)
            if vector is not None:
                out[entity] = vector
        return out

    def get_watermark(self, key: FeatureKey, timeframe: str) -> int | None:
        raw: Any = self.redis.get(f"{self.prefix}:wm:{key.id}:{timeframe}")
        return int(raw) if raw is not None else None

    def set_watermark(self, key: FeatureKey, timeframe: str, value: int) -> None:
        self.redis.set(f"{self.prefix}:wm:{key.id}:{timeframe}", int(value))

    def clear(self) -> int:
        """Delete every key under this store's prefix; returns how many."""
        deleted = 0
        for batch_start in self.redis.scan_iter(match=f"{self.prefix}:*", count=1000):
            deleted += int(self.redis.delete(batch_start))
        return deleted
