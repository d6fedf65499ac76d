"""Feature store: point-in-time joins, SQL offline store (SQLite and PostgreSQL), online stores
(in process and Redis), materialisation, and online == offline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qts.adapters.feature_store_redis import RedisOnlineStore
from qts.adapters.feature_store_sql import SqlOfflineStore
from qts.core.errors import ValidationError
from qts.db import Database
from qts.ml.feature_store import (
    FeatureKey,
    InMemoryOfflineStore,
    InProcessOnlineStore,
    compute_and_write,
    materialize,
    point_in_time_join,
    write_feature_frame,
)
from qts.ml.features import REGISTRY, FeatureContext

from .conftest import make_fundamentals, make_news

DAY = 86_400_000
T0 = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000)
KEY = FeatureKey("pit_test", "v1", ("x", "y"))


def fill_changing_values(store) -> None:
    """Entity A: x = day number, known at the bar close (ts + 1 day), except day 3's row,
    which arrived late (known on day 7). Entity B: x = 100 + day."""
    ts = np.array([T0 + d * DAY for d in range(6)], dtype=np.int64)
    known = ts + DAY
    known[3] = T0 + 7 * DAY
    values = np.column_stack([np.arange(6.0), np.arange(6.0) * 10])
    store.write(KEY, "1d", "A", ts, known, values)
    store.write(KEY, "1d", "B", ts, ts + DAY, values + 100)


def check_point_in_time(store) -> None:
    fill_changing_values(store)
    labels = pd.DataFrame(
        {
            "entity": ["A", "A", "A", "A", "B", "A", "A"],
            "label_time": pd.to_datetime(
                [
                    T0 + 1 * DAY - 1,
                    T0 + 1 * DAY,
                    T0 + 4 * DAY,
                    T0 + 5 * DAY,
                    T0 + 4 * DAY,
                    T0 + 7 * DAY,
                    T0 + 20 * DAY,
                ],
                unit="ms",
                utc=True,
            ),
            "y_true": range(7),
        }
    )
    out = point_in_time_join(store, [KEY], "1d", labels, prefix_columns=True)
    assert list(out["y_true"]) == list(range(7))  # label order and columns kept
    x = out["pit_test.x"].tolist()
    assert np.isnan(x[0])  # nothing known a millisecond before the first close
    assert x[1] == 0.0  # known exactly at the label time: joined
    # On day 4, day 3's row was not yet known (late): the join must give day 2's value.
    assert x[2] == 2.0
    assert x[3] == 4.0  # day 4's row (known at day 5) is newer than the late row
    assert x[4] == 103.0  # entity B is unaffected
    assert x[5] == 5.0 and x[6] == 5.0
    stale = point_in_time_join(store, [KEY], "1d", labels, max_age=pd.Timedelta(days=2))
    assert np.isnan(stale["x"].iloc[6]) and stale["x"].iloc[3] == 4.0


def test_point_in_time_join_in_memory() -> None:
    check_point_in_time(InMemoryOfflineStore())


def test_point_in_time_join_on_sql(db_url) -> None:
    db = Database(db_url)
    try:
        check_point_in_time(SqlOfflineStore(db))
    finally:
        db.dispose()


def test_sql_store_round_trip_upsert_and_bad_writes(db_url) -> None:
    db = Database(db_url)
    store = SqlOfflineStore(db)
    try:
        fill_changing_values(store)
        rows = store.read(KEY, "1d", ["A", "B"])
        assert len(rows) == 12 and rows["entity"].tolist()[:6] == ["A"] * 6
        assert rows["x"].tolist()[:6] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        # Upserting a row replaces it; NaN survives the round trip.
        store.write(
            KEY, "1d", "A", np.array([T0 + 5 * DAY]), np.array([T0 + 6 * DAY]),
            np.array([[np.nan, 55.0]]),
        )  # fmt: skip
        latest = store.latest(KEY, "1d")
        assert latest["entity"].tolist() == ["A", "B"]
        assert np.isnan(latest["x"].iloc[0]) and latest["y"].iloc[0] == 55.0
        assert latest["ts"].tolist() == [T0 + 5 * DAY] * 2
        before = store.read(KEY, "1d", ["A", "B"])
        bad_calls = [
            (np.array([T0]), np.array([T0 + DAY]), np.ones((1, 3))),  # wrong width
            (np.array([T0, T0]), np.array([T0 + DAY] * 2), np.ones((2, 2))),  # duplicate ts
            (np.array([T0]), np.array([T0 - 1]), np.ones((1, 2))),  # known before its bar
        ]
        for ts, known, values in bad_calls:
            with pytest.raises(ValidationError):
                store.write(KEY, "1d", "A", ts, known, values)
        after = store.read(KEY, "1d", ["A", "B"])
        pd.testing.assert_frame_equal(before, after)
        touched, newest = store.entities_written_since(KEY, "1d", None)
        assert touched == ["A", "B"] and newest is not None
        assert store.entities_written_since(KEY, "1d", newest + 1)[0] == []
        assert store.read(KEY, "1d", ["A"], ts_start=T0 + 2 * DAY, ts_end=T0 + 3 * DAY)[
            "x"
        ].tolist() == [2.0, 3.0]
    finally:
        db.dispose()


def build_offline(store, kr_bars, crypto_bars) -> dict[tuple[str, str], pd.DataFrame]:
    """Compute every registered feature for the real sample symbols and write them."""
    computed = {}
    for timeframe, bars_by_symbol in (("1d", kr_bars), ("1h", crypto_bars)):
        for symbol, bars in bars_by_symbol.items():
            ctx = FeatureContext(
                symbol=symbol,
                timeframe=timeframe,
                fundamentals=make_fundamentals(bars),
                news=make_news(bars),
            )
            frames = []
            for definition in REGISTRY:
                _, n = compute_and_write(store, definition, bars, timeframe, symbol, ctx)
                assert n == len(bars)
                frames.append(definition.compute(bars, ctx))
            computed[(timeframe, symbol)] = pd.concat(frames, axis=1)
    return computed


def keys() -> list[FeatureKey]:
    return [FeatureKey.of(d) for d in REGISTRY]


def assert_online_equals_offline(online, offline, computed) -> None:
    for (timeframe, symbol), frame in computed.items():
        vector = online.get(timeframe, symbol, keys())
        assert vector is not None, symbol
        expected = {}
        for key in keys():
            latest = offline.latest(key, timeframe, [symbol])
            assert vector.as_of[key.id] == int(latest["ts"].iloc[0])
            expected.update(zip(key.columns, latest[list(key.columns)].iloc[0], strict=True))
        assert list(vector.values) == list(expected)
        got = np.array(list(vector.values.values()))
        want = np.array(list(expected.values()))
        np.testing.assert_array_equal(got, want)  # bit-for-bit, NaN where NaN
        # ...and both equal a fresh computation's last row.
        np.testing.assert_array_equal(got, frame.iloc[-1][list(expected)].to_numpy())


@pytest.fixture
def sql_store(db_url):
    db = Database(db_url)
    yield SqlOfflineStore(db)
    db.dispose()


def test_online_equals_offline_in_process(sql_store, kr_bars, crypto_bars) -> None:
    computed = build_offline(sql_store, kr_bars, crypto_bars)
    online = InProcessOnlineStore()
    results = materialize(sql_store, online, keys(), "1d")
    assert {r.stored for r in results} == {len(kr_bars)}
    materialize(sql_store, online, keys(), "1h")
    assert_online_equals_offline(online, sql_store, computed)
    assert online.get("1d", "NOPE") is None


@pytest.mark.redis
def test_online_equals_offline_on_redis(sql_store, kr_bars, crypto_bars, redis_prefix) -> None:
    url, prefix = redis_prefix
    computed = build_offline(sql_store, kr_bars, crypto_bars)
    online = RedisOnlineStore(url, prefix=prefix, ttl_seconds=600)
    for timeframe in ("1d", "1h"):
        materialize(sql_store, online, keys(), timeframe)
    assert_online_equals_offline(online, sql_store, computed)
    # A fresh client (another process) reads the same vector, column names included.
    other = RedisOnlineStore(url, prefix=prefix)
    many = other.get_many("1d", [*kr_bars, "MISSING"], keys())
    assert sorted(many) == sorted(kr_bars)
    assert many["005930"].to_dict() == online.get("1d", "005930", keys()).to_dict()
    ttl = online.redis.pttl(f"{prefix}:v:1d:005930")
    assert 0 < ttl <= 600_000


def test_incremental_materialization_and_backfill(kr_bars) -> None:
    clock = [T0]
    offline, online = InMemoryOfflineStore(clock=lambda: clock[0]), InProcessOnlineStore()
    technical = REGISTRY.get("technical")
    key = FeatureKey.of(technical)
    bars = {s: kr_bars[s] for s in ("005930", "000660")}
    for symbol, b in bars.items():
        compute_and_write(offline, technical, b.iloc[:-10], "1d", symbol)
    first = materialize(offline, online, [key], "1d")
    assert first[0].stored == 2
    ts_before = online.get("1d", "005930").as_of[key.id]

    assert online.get_watermark(key, "1d") == T0
    # Ten minutes later, new bars for one symbol only: the next run looks at that symbol.
    clock[0] += 600_000
    compute_and_write(offline, technical, bars["005930"], "1d", "005930")
    second = materialize(offline, online, [key], "1d", overlap_ms=0)
    assert second[0].entities == 1 and second[0].stored == 1
    assert online.get_watermark(key, "1d") == T0 + 600_000
    # With the default overlap, writes just before the watermark are looked at again.
    clock[0] += 30_000
    compute_and_write(offline, technical, bars["000660"].iloc[:-5], "1d", "000660")
    third = materialize(offline, online, [key], "1d")
    assert third[0].entities == 2
    newest = online.get("1d", "005930")
    assert newest.as_of[key.id] > ts_before
    assert newest.as_of[key.id] == int(bars["005930"].index[-1].value // 1_000_000)

    # A backfill of old rows does not replace the newer online vector.
    frame = technical.compute(bars["005930"].iloc[:50], FeatureContext(timeframe="1d"))
    write_feature_frame(offline, key, "1d", "005930", frame)
    materialize(offline, online, [key], "1d", incremental=False)
    assert online.get("1d", "005930").as_of[key.id] == newest.as_of[key.id]
    assert online.put_many(key, "1d", [("005930", 0, np.zeros(len(key.columns)))]) == 0
