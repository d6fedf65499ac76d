"""Bar pages as the API serves them: every bound combination, exact times, and the exchange a
symbol is stored on found by index seeks (on SQLite and a real PostgreSQL)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLE
from qts.core.errors import ValidationError
from qts.db import Database
from qts.db.repositories.market import MarketRepository, ms_to_datetime, ms_to_iso
from qts.market.files import load_bars_file
from qts.services.data import market_data as md

SAMSUNG = SAMPLE / "kr_daily" / "005930.csv"


def test_iso_times_match_datetime_isoformat() -> None:
    rng = random.Random(7)
    edge = [0, 1, -1, 999, 1000, -1000, 1701734400000, 1701734400123, -2208988800000]
    values = edge + [rng.randint(-2208988800000, 7258118400000) for _ in range(5000)]
    assert ms_to_iso(values) == [ms_to_datetime(v).isoformat() for v in values]
    assert ms_to_iso([]) == []


def test_pages_hold_the_stored_bars_for_every_bound(db: Database) -> None:
    md.import_file(db, SAMSUNG, "005930", "1d", "XKRX")
    frame = load_bars_file(SAMSUNG)
    expected = [
        {
            "ts": t.isoformat(),
            **{k: float(row[k]) for k in ("open", "high", "low", "close", "volume")},
        }
        for t, row in frame.iterrows()
    ]
    page = md.page_bars("005930", "1d", db=db)
    assert page == {
        "exchange": "XKRX",
        "symbol": "005930",
        "timeframe": "1d",
        "items": expected,
        "limit": 1000,
        "offset": 0,
        "next_after": None,
    }
    start, end = pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-03-29", tz="UTC")
    inside = [e for e in expected if start <= pd.Timestamp(e["ts"]) <= end]
    assert md.page_bars("005930", "1d", start, end, db=db)["items"] == inside
    assert md.page_bars("005930", "1d", start, db=db)["items"][0] == inside[0]
    assert md.page_bars("005930", "1d", end=end, db=db)["items"][-1] == inside[-1]
    after = md.page_bars("005930", "1d", start, end, after=inside[9]["ts"], limit=5, db=db)
    assert after["items"] == inside[10:15] and after["next_after"] == inside[14]["ts"]
    assert md.page_bars("005930", "1d", offset=365, limit=10, db=db)["items"] == expected[365:]


def test_exchange_lookup_probes_each_exchange(db: Database) -> None:
    bars = load_bars_file(SAMSUNG).iloc[:30]
    with db.session() as s:
        repo = MarketRepository(s)
        repo.upsert_bars("XKRX", "005930", "1d", bars)
        repo.upsert_bars("XKRX", "000660", "1h", bars)
        repo.upsert_bars("ALT", "005930", "1h", bars)
        repo.upsert_bars("binance", "BTC/USDT", "1d", bars)
    with db.session() as s:
        repo = MarketRepository(s)
        assert repo.exchanges_of("005930") == ["ALT", "XKRX"]
        assert repo.exchanges_of("005930", "1d") == ["XKRX"]
        assert repo.exchanges_of("005930", "1h") == ["ALT"]
        assert repo.exchanges_of("000660", "1d") == []
        assert repo.exchanges_of("BTC/USDT") == ["binance"]
    assert md.page_bars("005930", "1h", db=db)["exchange"] == "ALT"
    with db.session() as s:
        MarketRepository(s).upsert_bars("ALT", "005930", "1d", bars)
    with pytest.raises(ValidationError) as err:
        md.page_bars("005930", "1d", db=db)
    assert err.value.details == {"exchanges": ["ALT", "XKRX"]}
    page = md.page_bars("005930", "1d", exchange="ALT", db=db)
    assert len(page["items"]) == 30
    assert np.isclose(page["items"][0]["close"], bars["close"].iloc[0])
