"""Offline feature store on SQL (SQLite embedded, PostgreSQL scale-out), table `feature_values`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from qts.db import Database
from qts.db.models.features import FeatureValue
from qts.ml.feature_store.protocols import META_COLUMNS, FeatureKey, check_rows

WRITE_CHUNK = 5_000
_PK = ["feature", "version", "timeframe", "entity", "ts"]
_COLUMNS = [*_PK, "known_at", "written_at", "vector"]
_DTYPE = np.dtype("<f8")


class SqlOfflineStore:
    """Implements `qts.ml.feature_store.OfflineStore` over `feature_values`."""

    def __init__(self, db: Database, create_table: bool = True) -> None:
        self.db = db
        if create_table:
            FeatureValue.__table__.create(db.engine, checkfirst=True)  # type: ignore[attr-defined]

    def _insert(self) -> Any:
        table: Any = FeatureValue.__table__
        stmt = (postgresql.insert if not self.db.is_sqlite else sqlite.insert)(table)
        return stmt.on_conflict_do_update(
            index_elements=_PK,
            set_={c: stmt.excluded[c] for c in ("known_at", "written_at", "vector")},
        )

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
        if not len(ts):
            return 0
        written = time.time_ns() // 1_000_000
        blob = np.ascontiguousarray(values, dtype=_DTYPE)
        rows = [
            {
                "feature": key.name,
                "version": key.version,
                "timeframe": timeframe,
                "entity": entity,
                "ts": t,
                "known_at": k,
                "written_at": written,
                "vector": blob[i].tobytes(),
            }
            for i, (t, k) in enumerate(zip(ts.tolist(), known_at.tolist(), strict=True))
        ]
        # One transaction: a failed write leaves the stored rows as they were.
        with self.db.connection() as conn:
            if self.db.is_sqlite:
                stmt = self._insert()
                for start in range(0, len(rows), WRITE_CHUNK):
                    conn.execute(stmt, rows[start : start + WRITE_CHUNK])
            else:
                self._copy_upsert(conn, rows)
        return len(rows)

    @staticmethod
    def _copy_upsert(conn: Any, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT (an
        executemany of upserts is ~50x slower for vectors of this size)."""
        cols = ", ".join(_COLUMNS)
        cur = conn.connection.driver_connection.cursor()
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _feature_values_stage "
            "(LIKE feature_values INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY _feature_values_stage ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in _COLUMNS])
        cur.execute(
            f"INSERT INTO feature_values ({cols}) SELECT {cols} FROM _feature_values_stage "
            f"ON CONFLICT ({', '.join(_PK)}) DO UPDATE SET known_at = EXCLUDED.known_at, "
            "written_at = EXCLUDED.written_at, vector = EXCLUDED.vector"
        )
        cur.execute("TRUNCATE _feature_values_stage")

    def _where(self, key: FeatureKey, timeframe: str) -> list[Any]:
        return [
            FeatureValue.feature == key.name,
            FeatureValue.version == key.version,
            FeatureValue.timeframe == timeframe,
        ]

    def _frame(self, key: FeatureKey, rows: Sequence[Any]) -> pd.DataFrame:
        meta = pd.DataFrame([(r[0], r[1], r[2]) for r in rows], columns=list(META_COLUMNS)).astype(
            {"entity": "object", "ts": "int64", "known_at": "int64"}
        )
        k = len(key.columns)
        raw = b"".join(bytes(r[3]) for r in rows)
        values = (
            np.frombuffer(raw, dtype=_DTYPE).reshape(len(rows), k) if rows else np.empty((0, k))
        )
        return pd.concat([meta, pd.DataFrame(values, columns=list(key.columns))], axis=1)

    def read(
        self,
        key: FeatureKey,
        timeframe: str,
        entities: Sequence[str],
        known_at_max: int | None = None,
        ts_start: int | None = None,
        ts_end: int | None = None,
    ) -> pd.DataFrame:
        fv = FeatureValue
        q = select(fv.entity, fv.ts, fv.known_at, fv.vector).where(
            *self._where(key, timeframe), fv.entity.in_(list(entities))
        )
        if known_at_max is not None:
            q = q.where(fv.known_at <= known_at_max)
        if ts_start is not None:
            q = q.where(fv.ts >= ts_start)
        if ts_end is not None:
            q = q.where(fv.ts <= ts_end)
        with self.db.connection() as conn:
            rows = conn.execute(q.order_by(fv.entity, fv.ts)).all()
        return self._frame(key, rows)

    def latest(
        self, key: FeatureKey, timeframe: str, entities: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One index probe per entity (newest ts first): a GROUP BY/MAX join degrades to a
        quadratic plan on PostgreSQL before the table has statistics."""
        if entities is None:
            entities, _ = self.entities_written_since(key, timeframe, None)
        names = sorted(set(entities))
        if not names:
            return self._frame(key, [])
        params = {"f": key.name, "v": key.version, "tf": timeframe}
        with self.db.connection() as conn:
            if self.db.is_sqlite:
                fv = FeatureValue
                rows: list[Any] = []
                for entity in names:
                    q = (
                        select(fv.entity, fv.ts, fv.known_at, fv.vector)
                        .where(*self._where(key, timeframe), fv.entity == entity)
                        .order_by(fv.ts.desc())
                        .limit(1)
                    )
                    rows.extend(conn.execute(q).all())
            else:
                rows = list(
                    conn.execute(
                        text(
                            "SELECT fv.entity, fv.ts, fv.known_at, fv.vector "
                            "FROM unnest(CAST(:entities AS text[])) AS e(entity) "
                            "CROSS JOIN LATERAL (SELECT entity, ts, known_at, vector "
                            "FROM feature_values WHERE feature = :f AND version = :v "
                            "AND timeframe = :tf AND entity = e.entity "
                            "ORDER BY ts DESC LIMIT 1) AS fv ORDER BY fv.entity"
                        ),
                        {**params, "entities": names},
                    ).all()
                )
        return self._frame(key, rows)

    def entities_written_since(
        self, key: FeatureKey, timeframe: str, since: int | None
    ) -> tuple[list[str], int | None]:
        fv = FeatureValue
        q = (
            select(fv.entity, func.max(fv.written_at))
            .where(*self._where(key, timeframe))
            .group_by(fv.entity)
        )
        with self.db.connection() as conn:
            rows = conn.execute(q).all()
        newest = max((int(r[1]) for r in rows), default=None)
        found = sorted(str(r[0]) for r in rows if since is None or int(r[1]) >= since)
        return found, newest

    def stats(self) -> list[dict[str, Any]]:
        """Rows per stored feature version and timeframe."""
        fv = FeatureValue
        q = (
            select(fv.feature, fv.version, fv.timeframe, func.count(), func.max(fv.ts))
            .group_by(fv.feature, fv.version, fv.timeframe)
            .order_by(fv.feature, fv.version)
        )
        with self.db.connection() as conn:
            return [
                {"feature": r[0], "version": r[1], "timeframe": r[2], "rows": r[3], "max_ts": r[4]}
                for r in conn.execute(q).all()
            ]
