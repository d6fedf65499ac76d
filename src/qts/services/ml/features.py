"""Feature service: build features from stored bars, store them offline, materialise the latest
vectors online and serve them. Return values are plain dicts for the API and CLI."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select

from qts.config import get_settings
from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.models.market import Fundamental, NewsItem
from qts.db.models.ml import FeatureDefinition as FeatureDefinitionRow
from qts.ml.feature_store import (
    FeatureKey,
    InProcessOnlineStore,
    OfflineStore,
    OnlineStore,
    materialize,
    write_feature_frame,
)
from qts.ml.features import REGISTRY, FeatureContext, FeatureDefinition, FeatureRegistry
from qts.ml.features.context import timeframe_delta

BarsLoader = Callable[[str, str, datetime | None, datetime | None], pd.DataFrame]
Progress = Callable[[str, int, int], None]

_lock = threading.Lock()
_databases: dict[str, Database] = {}
_online: dict[str, OnlineStore] = {}
_keys_cache: weakref.WeakKeyDictionary[FeatureRegistry, dict[Any, tuple[FeatureKey, ...]]] = (
    weakref.WeakKeyDictionary()
)


def _database(db: Database | None) -> Database:
    if db is not None:
        return db
    url = get_settings().effective_database_url
    with _lock:
        if url not in _databases:
            get_settings().ensure_data_dir()
            _databases[url] = Database(url)
        return _databases[url]


def reset_caches() -> None:
    """Forget cached databases and online stores (after settings change, e.g. in tests)."""
    with _lock:
        for database in _databases.values():
            database.dispose()
        _databases.clear()
        _online.clear()
        _keys_cache.clear()


def offline_store(db: Database | None = None) -> OfflineStore:
    from qts.adapters.feature_store_sql import SqlOfflineStore

    return SqlOfflineStore(_database(db))


def online_store(redis_url: str | None = None) -> OnlineStore:
    """Redis when configured (scale-out), else one in-process store per process (embedded)."""
    url = redis_url if redis_url is not None else get_settings().redis_url
    with _lock:
        key = url or "in-process"
        if key not in _online:
            if url:
                from qts.adapters.feature_store_redis import RedisOnlineStore

                _online[key] = RedisOnlineStore(url)
            else:
                _online[key] = InProcessOnlineStore()
        return _online[key]


def _parse_time(value: datetime | str | None) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"not a date or time: {value!r}") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _stored_bars_loader(exchange: str | None, db: Database | None) -> BarsLoader:
    def load(symbol: str, timeframe: str, start: Any, end: Any) -> pd.DataFrame:
        from qts.services.data.market_data import read_bars

        return read_bars(
            symbol=symbol, timeframe=timeframe, start=start, end=end, exchange=exchange, db=db
        )

    return load


def load_fundamentals(db: Database, symbol: str, exchange: str | None = None) -> pd.DataFrame:
    q = select(
        Fundamental.metric, Fundamental.period_end, Fundamental.known_at, Fundamental.value
    ).where(Fundamental.symbol == symbol)
    if exchange:
        q = q.where(Fundamental.exchange == exchange)
    with db.session() as s:
        rows = s.execute(q).all()
    return pd.DataFrame(rows, columns=["metric", "period_end", "known_at", "value"])


NEWS_COLUMNS = ["known_at", "headline", "body", "sentiment", "language"]


def load_news(db: Database, symbol: str) -> pd.DataFrame:
    """One symbol's news with its stored scores (None where not scored)."""
    q = select(
        NewsItem.known_at, NewsItem.headline, NewsItem.body, NewsItem.sentiment, NewsItem.language
    ).where(NewsItem.symbols.contains(f",{symbol},"))
    with db.session() as s:
        rows = s.execute(q.order_by(NewsItem.known_at, NewsItem.id)).all()
    frame = pd.DataFrame(rows, columns=NEWS_COLUMNS)
    frame["sentiment"] = pd.to_numeric(frame["sentiment"], errors="coerce")
    return frame


def sync_definitions(
    db: Database,
    definitions: Iterable[FeatureDefinition],
    columns: dict[str, list[str]] | None = None,
) -> int:
    """Record each (name, version) in `feature_definitions`; returns how many were new."""
    added = 0
    with db.session() as s:
        for d in definitions:
            info = d.describe()
            cols = (columns or {}).get(d.name) or info["columns"]
            row = s.execute(
                select(FeatureDefinitionRow).where(
                    FeatureDefinitionRow.name == d.name, FeatureDefinitionRow.version == d.version
                )
            ).scalar_one_or_none()
            if row is None:
                s.add(
                    FeatureDefinitionRow(
                        name=d.name,
                        version=d.version,
                        group=d.group,
                        params=info["params"],
                        inputs=info["inputs"],
                        columns=cols,
                        code_hash=info["code_hash"],
                        description=info["description"],
                    )
                )
                added += 1
            elif cols and not row.columns:
                row.columns = cols
    return added


def list_definitions(
    db: Database | None = None, registry: FeatureRegistry | None = None
) -> list[dict[str, Any]]:
    """Registered definitions, marked `current`, plus older versions recorded in the database."""
    registry = registry if registry is not None else REGISTRY
    out = {(d.name, d.version): {**d.describe(), "current": True} for d in registry}
    try:
        with _database(db).session() as s:
            for row in s.execute(select(FeatureDefinitionRow)).scalars():
                item = out.get((row.name, row.version))
                if item is None:
                    out[(row.name, row.version)] = {
                        "name": row.name,
                        "version": row.version,
                        "group": row.group,
                        "params": row.params,
                        "inputs": row.inputs,
                        "columns": row.columns,
                        "code_hash": row.code_hash,
                        "description": row.description,
                        "current": False,
                    }
                elif not item["columns"]:
                    item["columns"] = row.columns
    except Exception as exc:  # no table yet: the registry alone still answers
        if "feature_definitions" not in str(exc):
            raise
    return sorted(out.values(), key=lambda d: (d["name"], not d["current"], d["version"]))


def current_keys(
    db: Database | None = None,
    registry: FeatureRegistry | None = None,
    names: Sequence[str] | None = None,
) -> list[FeatureKey]:
    """Keys of the registered versions whose columns are known (declared or built once).

    Cached per registry generation and database while every selected definition's columns are
    known (a version's columns never change once recorded); a definition not built yet is
    looked up again on the next call."""
    registry = registry if registry is not None else REGISTRY
    database = _database(db)
    cache_key = (registry.generation, database.url, tuple(names) if names is not None else None)
    per_registry = _keys_cache.setdefault(registry, {})
    cached = per_registry.get(cache_key)
    if cached is not None:
        return list(cached)
    definitions = registry.select(names)
    stored: dict[tuple[str, str], list[str]] = {}
    if any(not d.columns for d in definitions):
        stored = {(d["name"], d["version"]): d["columns"] for d in list_definitions(db, registry)}
    keys = []
    for d in definitions:
        cols = d.columns or stored.get((d.name, d.version))
        if cols:
            keys.append(FeatureKey(d.name, d.version, tuple(cols)))
    if len(keys) == len(definitions):
        with _lock:
            if len(per_registry) > 64:  # other generations' entries are dead
                per_registry.clear()
            per_registry[cache_key] = tuple(keys)
    return keys


def build_features(
    symbols: Sequence[str],
    timeframe: str = "1d",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    exchange: str | None = None,
    db: Database | None = None,
    offline: OfflineStore | None = None,
    registry: FeatureRegistry | None = None,
    names: Sequence[str] | None = None,
    bars_loader: BarsLoader | None = None,
    progress: Progress | None = None,
    warmup_bars: int = 120,
) -> dict[str, Any]:
    """Compute features per symbol from stored bars and write them to the offline store.

    Bars from `warmup_bars` before `start` are loaded so indicators are warm at `start`; only
    rows from `start` on are written.
    """
    if not symbols:
        raise ValidationError("no symbols given")
    timeframe_delta(timeframe)  # validates the timeframe
    database = _database(db)
    offline = offline or offline_store(database)
    registry = registry if registry is not None else REGISTRY
    definitions = registry.select(names)
    start_ts, end_ts = _parse_time(start), _parse_time(end)
    load_from = None if start_ts is None else start_ts - warmup_bars * timeframe_delta(timeframe)
    loader = bars_loader or _stored_bars_loader(exchange, database)
    needs_funda = any("fundamentals" in d.inputs for d in definitions)
    needs_news = any("news" in d.inputs for d in definitions)
    summary: dict[str, Any] = {"timeframe": timeframe, "symbols": {}, "rows": 0}
    columns: dict[str, list[str]] = {}
    for i, symbol in enumerate(symbols):
        try:
            bars = loader(symbol, timeframe, load_from, end_ts)
        except NotFoundError:
            bars = None
        if bars is None or bars.empty:
            summary["symbols"][symbol] = {"bars": 0, "rows": 0, "error": "no bars"}
            if progress:
                progress(symbol, i + 1, len(symbols))
            continue
        ctx = FeatureContext(
            symbol=symbol,
            timeframe=timeframe,
            fundamentals=load_fundamentals(database, symbol, exchange) if needs_funda else None,
            news=load_news(database, symbol) if needs_news else None,
        )
        written = 0
        for d in definitions:
            frame = d.compute(bars, ctx)
            if start_ts is not None:
                frame = frame.loc[frame.index >= start_ts]
            key = FeatureKey.of(d, list(frame.columns))
            columns[d.name] = list(key.columns)
            written += write_feature_frame(offline, key, timeframe, symbol, frame, ctx)
        summary["symbols"][symbol] = {"bars": len(bars), "rows": written}
        summary["rows"] += written
        if progress:
            progress(symbol, i + 1, len(symbols))
    try:
        sync_definitions(database, definitions, columns)
    except Exception as exc:
        if "feature_definitions" not in str(exc):
            raise
        summary["warning"] = "feature_definitions table missing: run the migrations"
    return summary


def materialize_features(
    timeframe: str = "1d",
    names: Sequence[str] | None = None,
    entities: Sequence[str] | None = None,
    incremental: bool = True,
    db: Database | None = None,
    offline: OfflineStore | None = None,
    online: OnlineStore | None = None,
    registry: FeatureRegistry | None = None,
) -> list[dict[str, Any]]:
    """Copy the latest offline rows of the current feature versions to the online store."""
    database = _database(db)
    offline = offline or offline_store(database)
    online = online or online_store()
    keys = current_keys(database, registry, names)
    results = materialize(offline, online, keys, timeframe, entities, incremental)
    return [{"feature": r.feature, "entities": r.entities, "stored": r.stored} for r in results]


def latest_vector(
    symbol: str,
    timeframe: str = "1d",
    db: Database | None = None,
    offline: OfflineStore | None = None,
    online: OnlineStore | None = None,
    registry: FeatureRegistry | None = None,
) -> dict[str, Any]:
    """The symbol's latest online vector (current feature versions) as a plain dict.

    In embedded mode the in-process store may be empty after a restart: a miss materialises
    this symbol from the offline store first.
    """
    database = _database(db)
    online = online or online_store()
    keys = current_keys(database, registry)
    vector = online.get(timeframe, symbol, keys)
    if vector is None or len(vector.as_of) < len(keys):
        materialize(offline or offline_store(database), online, keys, timeframe, [symbol], False)
        vector = online.get(timeframe, symbol, keys)
    if vector is None:
        raise NotFoundError(f"no features stored for {symbol} ({timeframe})")
    return vector.to_dict()


def compute_online_features(ctx: Any, recent_bars: int = 5) -> dict[str, Any]:
    """The `features` job: for every live-collected symbol, compute the features of its newest
    stored bars into the offline store and materialise them to the online store."""
    from qts.services.data.live_collection import LiveCollectionSettings
    from qts.services.data.market_data import list_datasets

    last_bar = {(d["symbol"], d["timeframe"]): d["last"] for d in list_datasets(ctx.db)}
    out: dict[str, Any] = {}
    for spec in LiveCollectionSettings().live_symbols:
        last = last_bar.get((spec.symbol, spec.timeframe))
        if last is None:
            out[spec.symbol] = {"rows": 0, "error": "no bars stored yet"}
            continue
        start = pd.Timestamp(last) - (recent_bars - 1) * timeframe_delta(spec.timeframe)
        built = build_features([spec.symbol], spec.timeframe, start=start, db=ctx.db)
        stored = materialize_features(spec.timeframe, entities=[spec.symbol], db=ctx.db)
        out[spec.symbol] = {"rows": built["rows"], "materialized": len(stored)}
    return out
