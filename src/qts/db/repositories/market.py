"""Market data queries: symbols and bars (news and fundamentals: `news`, `fundamentals`).

Bars are written with idempotent upserts that only touch rows whose values changed, so a
second import of the same data reports zero changes. Bulk loads use the fastest path of each
backend: COPY into a temporary table and one INSERT .. ON CONFLICT on PostgreSQL, executemany
on SQLite. Every method runs inside the caller's Session, so an import is one transaction.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from qts.db.models import Bar, Symbol

BAR_FIELDS = ("open", "high", "low", "close", "volume")
_KEY = "exchange, symbol, timeframe, ts"
_ALL = "exchange, symbol, timeframe, ts, open, high, low, close, volume"
_SET = ", ".join(f"{c} = excluded.{c}" for c in BAR_FIELDS)
SYMBOL_FIELDS = ("name", "asset_class", "currency", "lot_size", "tick_size", "quantity_step")
# Distinct exchanges by a recursive skip scan of the primary key, then an index probe each.
_EXCHANGE_WALK = """
WITH RECURSIVE ex(name) AS (
    SELECT MIN(exchange) FROM bars
    UNION ALL
    SELECT (SELECT MIN(b.exchange) FROM bars b WHERE b.exchange > ex.name) FROM ex
    WHERE ex.name IS NOT NULL
)
SELECT name FROM ex WHERE name IS NOT NULL AND EXISTS (
    SELECT 1 FROM bars p WHERE p.exchange = ex.name AND p.symbol = :symbol {}
)"""
_EXCHANGES_OF = text(_EXCHANGE_WALK.format(""))
_EXCHANGES_OF_TIMEFRAME = text(_EXCHANGE_WALK.format("AND p.timeframe = :timeframe"))


def to_epoch_ms(value: Any) -> int:
    """Epoch ms UTC of a datetime/date/ISO string/Timestamp (naive values are taken as UTC);
    a bare number is already epoch ms, the unit bars are stored in."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return int(value)
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def ms_to_iso(ms: Sequence[int]) -> list[str]:
    """`ms_to_datetime(t).isoformat()` for many epoch-ms times at once (one numpy pass instead
    of a datetime per row): seconds, plus microseconds only where the time has a fraction."""
    arr = np.asarray(ms, dtype=np.int64)
    stamps = arr.astype("datetime64[ms]")
    whole = arr % 1000 == 0
    text = np.datetime_as_string(stamps, unit="s")
    if not whole.all():
        text = np.where(whole, text, np.datetime_as_string(stamps, unit="us"))
    return [t + "+00:00" for t in text.tolist()]


class MarketRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    @property
    def dialect(self) -> str:
        return self.s.get_bind().dialect.name

    def _driver(self) -> Any:
        """The DBAPI connection of the session's current transaction."""
        return self.s.connection().connection.driver_connection

    # Symbols ---------------------------------------------------------------------------------
    def upsert_symbol(self, exchange: str, symbol: str, **fields: Any) -> Symbol:
        row = self.s.scalar(
            select(Symbol).where(Symbol.exchange == exchange, Symbol.symbol == symbol)
        )
        if row is None:
            row = Symbol(exchange=exchange, symbol=symbol)
            self.s.add(row)
        for key, value in fields.items():
            if key in SYMBOL_FIELDS and value is not None:
                setattr(row, key, value)
        self.s.flush()
        return row

    def get_symbol(self, exchange: str, symbol: str) -> Symbol | None:
        return self.s.scalar(
            select(Symbol).where(Symbol.exchange == exchange, Symbol.symbol == symbol)
        )

    def exchanges_of(self, symbol: str, timeframe: str | None = None) -> list[str]:
        """Exchanges holding bars of `symbol` (at `timeframe`). The primary key leads with the
        exchange, so filtering on the symbol alone would scan every bar; this walks the few
        distinct exchanges (one index seek each) and probes each one: one round trip."""
        sql = _EXCHANGES_OF_TIMEFRAME if timeframe else _EXCHANGES_OF
        params = {"symbol": symbol, "timeframe": timeframe} if timeframe else {"symbol": symbol}
        return sorted(self.s.connection().execute(sql, params).scalars())

    def list_datasets(self) -> list[dict[str, Any]]:
        """One dict per (exchange, symbol, timeframe) with its bar count and time range."""
        q = (
            select(
                Bar.exchange,
                Bar.symbol,
                Bar.timeframe,
                func.count(),
                func.min(Bar.ts),
                func.max(Bar.ts),
            )
            .group_by(Bar.exchange, Bar.symbol, Bar.timeframe)
            .order_by(Bar.exchange, Bar.symbol, Bar.timeframe)
        )
        return [
            {
                "exchange": ex,
                "symbol": sym,
                "timeframe": tf,
                "bars": int(n),
                "first": ms_to_datetime(lo).isoformat(),
                "last": ms_to_datetime(hi).isoformat(),
            }
            for ex, sym, tf, n, lo, hi in self.s.execute(q)
        ]

    def list_symbols(self) -> list[dict[str, Any]]:
        """Every known symbol (from the symbols table or with bars), with its datasets."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.s.scalars(select(Symbol).order_by(Symbol.exchange, Symbol.symbol)):
            out[(row.exchange, row.symbol)] = {
                "exchange": row.exchange,
                "symbol": row.symbol,
                **{f: getattr(row, f) for f in SYMBOL_FIELDS},
                "datasets": [],
            }
        for ds in self.list_datasets():
            entry = out.setdefault(
                (ds["exchange"], ds["symbol"]),
                {"exchange": ds["exchange"], "symbol": ds["symbol"], "datasets": []},
            )
            entry["datasets"].append({k: ds[k] for k in ("timeframe", "bars", "first", "last")})
        return list(out.values())

    # Bars: writing ---------------------------------------------------------------------------
    def upsert_bars(
        self, exchange: str, symbol: str, timeframe: str, bars: pd.DataFrame
    ) -> dict[str, int]:
        """Insert or update bars (index = UTC open time). Returns inserted/updated/unchanged."""
        if bars.empty:
            return {"inserted": 0, "updated": 0, "unchanged": 0}
        ts_ms = np.asarray(pd.DatetimeIndex(bars.index).as_unit("ms").asi8, dtype="int64")
        before = self.count_bars(exchange, symbol, timeframe)
        if self.dialect == "postgresql":
            changed = self._copy_upsert(exchange, symbol, timeframe, ts_ms, bars)
        else:
            changed = self._executemany_upsert(exchange, symbol, timeframe, ts_ms, bars)
        inserted = self.count_bars(exchange, symbol, timeframe) - before
        return {
            "inserted": inserted,
            "updated": changed - inserted,
            "unchanged": len(bars) - changed,
        }

    def _executemany_upsert(
        self, exchange: str, symbol: str, timeframe: str, ts_ms: np.ndarray, bars: pd.DataFrame
    ) -> int:
        differs = " OR ".join(f"bars.{c} IS NOT excluded.{c}" for c in BAR_FIELDS)
        sql = (
            f"INSERT INTO bars ({_ALL}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT ({_KEY}) DO UPDATE SET {_SET} WHERE {differs}"
        )
        values = bars.loc[:, list(BAR_FIELDS)].to_numpy(dtype="float64").tolist()
        rows = [
            (exchange, symbol, timeframe, t, *v)
            for t, v in zip(ts_ms.tolist(), values, strict=True)
        ]
        cur = self._driver().cursor()
        try:
            cur.executemany(sql, rows)
            return int(cur.rowcount)
        finally:
            cur.close()

    def _copy_upsert(
        self, exchange: str, symbol: str, timeframe: str, ts_ms: np.ndarray, bars: pd.DataFrame
    ) -> int:
        frame = bars.loc[:, list(BAR_FIELDS)].astype("float64").reset_index(drop=True)
        frame.insert(0, "ts", ts_ms)
        conn = self._driver()
        differs = f"({', '.join('bars.' + c for c in BAR_FIELDS)}) IS DISTINCT FROM " + (
            f"({', '.join('excluded.' + c for c in BAR_FIELDS)})"
        )
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _bars_load "
                "(ts bigint, open float8, high float8, low float8, close float8, volume float8) "
                "ON COMMIT DELETE ROWS"
            )
            cur.execute("TRUNCATE _bars_load")
            with cur.copy("COPY _bars_load FROM STDIN (FORMAT csv)") as copy:
                for start in range(0, len(frame), 200_000):
                    chunk = frame.iloc[start : start + 200_000]
                    copy.write(chunk.to_csv(header=False, index=False, float_format="%.17g"))
            cur.execute(
                f"INSERT INTO bars ({_ALL}) "
                "SELECT %s::text, %s::text, %s::text, ts, open, high, low, close, volume "
                "FROM _bars_load "
                f"ON CONFLICT ({_KEY}) DO UPDATE SET {_SET} WHERE {differs}",
                (exchange, symbol, timeframe),
            )
            return int(cur.rowcount)

    def delete_bars(self, exchange: str, symbol: str, timeframe: str) -> int:
        result = self.s.execute(
            delete(Bar).where(
                Bar.exchange == exchange, Bar.symbol == symbol, Bar.timeframe == timeframe
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # Bars: reading ---------------------------------------------------------------------------
    def count_bars(self, exchange: str, symbol: str, timeframe: str) -> int:
        q = (
            select(func.count())
            .select_from(Bar)
            .where(Bar.exchange == exchange, Bar.symbol == symbol, Bar.timeframe == timeframe)
        )
        return int(self.s.scalar(q) or 0)

    def last_bar_ms(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        q = select(func.max(Bar.ts)).where(
            Bar.exchange == exchange, Bar.symbol == symbol, Bar.timeframe == timeframe
        )
        value = self.s.scalar(q)
        return int(value) if value is not None else None

    def history_start_ms(
        self, exchange: str, symbol: str, timeframe: str, before: Any, count: int
    ) -> int | None:
        """Open time of the earliest of the `count` stored bars before `before` (None: none)."""
        q = (
            select(Bar.ts)
            .where(
                Bar.exchange == exchange,
                Bar.symbol == symbol,
                Bar.timeframe == timeframe,
                Bar.ts < to_epoch_ms(before),
            )
            .order_by(Bar.ts.desc())
            .limit(max(int(count), 1))
        )
        times = list(self.s.scalars(q))
        return int(times[-1]) if times else None

    def read_bars(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Bars with start <= ts <= end (both optional, inclusive) as a bars DataFrame."""
        lo = to_epoch_ms(start) if start is not None else np.iinfo(np.int64).min
        hi = to_epoch_ms(end) if end is not None else np.iinfo(np.int64).max
        params = (exchange, symbol, timeframe, int(lo), int(hi))
        where = "exchange = {p} AND symbol = {p} AND timeframe = {p} AND ts >= {p} AND ts <= {p}"
        if self.dialect == "postgresql":
            sql = (
                f"COPY (SELECT ts, {', '.join(BAR_FIELDS)} FROM bars WHERE "
                + where.format(p="%s")
                + " ORDER BY ts) TO STDOUT (FORMAT csv)"
            )
            buf = io.BytesIO()
            with self._driver().cursor() as cur, cur.copy(sql, params) as copy:
                for block in copy:
                    buf.write(block)
            buf.seek(0)
            if buf.getbuffer().nbytes == 0:
                return _frame_from_arrays(np.empty(0, "int64"), np.empty((0, 5)))
            table = pd.read_csv(buf, header=None, names=["ts", *BAR_FIELDS], dtype="float64")
            return _frame_from_arrays(
                table["ts"].to_numpy("int64"), table[list(BAR_FIELDS)].to_numpy()
            )
        sql = f"SELECT ts, {', '.join(BAR_FIELDS)} FROM bars WHERE " + where.format(p="?")
        cur = self._driver().cursor()
        try:
            rows = cur.execute(sql + " ORDER BY ts", params).fetchall()
        finally:
            cur.close()
        if not rows:
            return _frame_from_arrays(np.empty(0, "int64"), np.empty((0, 5)))
        # epoch ms (< 2**53) is exact in float64, so one array conversion serves all columns
        arr = np.array(rows, dtype="float64")
        return _frame_from_arrays(arr[:, 0].astype("int64"), arr[:, 1:])

    def page_bars(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start: Any = None,
        end: Any = None,
        *,
        limit: int = 1000,
        offset: int = 0,
        after: Any = None,
    ) -> dict[str, Any]:
        """A page of bars as plain dicts. Keyset paging: pass the previous page's `next_after`
        as `after` (cheap at any depth); `offset` is there for simple clients."""
        limit = max(1, min(int(limit), 10_000))
        bounds = {"start": start, "end": end, "after": after}
        params: dict[str, Any] = {k: to_epoch_ms(v) for k, v in bounds.items() if v is not None}
        q = _page_query(*(v is not None for v in bounds.values()))
        params.update(exchange=exchange, symbol=symbol, timeframe=timeframe)
        params.update(offset=offset, limit=limit + 1)
        rows = self.s.connection().execute(q, params).all()  # Core: no ORM result layer
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            {"ts": ts, "open": o, "high": h, "low": lo, "close": c, "volume": v}
            for ts, (_, o, h, lo, c, v) in zip(ms_to_iso([r[0] for r in rows]), rows, strict=True)
        ]
        return {
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": timeframe,
            "items": items,
            "limit": limit,
            "offset": offset,
            "next_after": items[-1]["ts"] if more and items else None,
        }


@lru_cache(maxsize=8)
def _page_query(
    start: bool, end: bool, after: bool
) -> Select[int, float, float, float, float, float]:
    """The bars page statement with the given bounds, built once: Core rows (plain tuples), not
    ORM objects (a page is read-only, and an instance per bar cost more than the query)."""
    conds = [
        Bar.exchange == bindparam("exchange"),
        Bar.symbol == bindparam("symbol"),
        Bar.timeframe == bindparam("timeframe"),
    ]
    if start:
        conds.append(Bar.ts >= bindparam("start"))
    if end:
        conds.append(Bar.ts <= bindparam("end"))
    if after:
        conds.append(Bar.ts > bindparam("after"))
    return (
        select(Bar.ts, Bar.open, Bar.high, Bar.low, Bar.close, Bar.volume)
        .where(*conds)
        .order_by(Bar.ts)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def _frame_from_arrays(ts_ms: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(ts_ms, unit="ms", utc=True)).as_unit("ns").rename("ts")
    return pd.DataFrame(values, index=index, columns=list(BAR_FIELDS), dtype="float64")


def as_date(value: Any) -> date:
    return pd.Timestamp(value).date()
