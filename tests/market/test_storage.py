"""Import -> store -> read back, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA, SAMPLE
from qts.core.errors import NotFoundError, ValidationError
from qts.db import Database
from qts.db.repositories.fundamentals import FundamentalsRepository
from qts.db.repositories.market import MarketRepository
from qts.db.repositories.news import NewsRepository
from qts.market.files import load_bars_file
from qts.market.synthetic import generate_bars
from qts.services.data import market_data as md
from qts.services.data import news as news_service
from qts.services.data.sample_data import load_sample_data

SAMSUNG = SAMPLE / "kr_daily" / "005930.csv"
BTC = SAMPLE / "crypto_1h" / "BTC_USDT.csv"


def test_import_round_trip_and_idempotent(db: Database) -> None:
    first = md.import_file(db, BTC, "BTC/USDT", "1h", "binance")
    assert (first["inserted"], first["updated"], first["unchanged"]) == (12553, 0, 0)
    stored = md.read_bars("BTC/USDT", "1h", db=db)
    pd.testing.assert_frame_equal(stored, load_bars_file(BTC), check_freq=False)
    second = md.import_file(db, BTC, "BTC/USDT", "1h", "binance")
    assert (second["inserted"], second["updated"], second["unchanged"]) == (0, 0, 12553)
    pd.testing.assert_frame_equal(md.read_bars("BTC/USDT", "1h", db=db), stored)


def test_corrupted_copy_rejected_and_store_unchanged(db: Database, tmp_path: Path) -> None:
    md.import_file(db, SAMSUNG, "005930", "1d", "XKRX")
    before = md.read_bars("005930", "1d", db=db)
    lines = SAMSUNG.read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",99999,72400,71200,71200,12129682"  # new row values
    lines[5] = "2023-12-11,72000,,71000,71500,100"  # NaN
    lines[8] = "2023-12-14,72000,71000,70000,71500,100"  # high below close
    lines.insert(12, lines[11])  # duplicate timestamp
    bad = tmp_path / "005930_bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError) as info:
        md.import_file(db, bad, "005930", "1d", "XKRX")
    rules = {(e["rule"], e["line"]) for e in info.value.details["errors"]}
    assert {
        ("missing_value", 6),
        ("high_below_open_close", 9),
        ("duplicate_timestamp", 13),
    } <= rules
    pd.testing.assert_frame_equal(md.read_bars("005930", "1d", db=db), before)
    # the valid edit on line 4 was not stored either: all or nothing
    assert before.iloc[2]["open"] != 99999


def test_repair_import_reports_and_stores(db: Database) -> None:
    result = md.import_file(
        db, DATA / "defects" / "012450.csv", "012450", "1d", "XKRX", repair=True
    )
    assert result["report"]["repair_counts"]["non_positive_price"] == 18
    stored = md.read_bars("012450", "1d", db=db)
    assert len(stored) == 370 and (stored[["open", "high", "low", "close"]] > 0).all().all()


def test_failed_transaction_keeps_nothing(db: Database) -> None:
    bars = load_bars_file(BTC).iloc[:100]
    with pytest.raises(RuntimeError), db.session() as s:
        MarketRepository(s).upsert_bars("binance", "BTC/USDT", "1h", bars)
        raise RuntimeError("crash mid-import")
    with db.session() as s:
        assert MarketRepository(s).count_bars("binance", "BTC/USDT", "1h") == 0


def test_upsert_updates_only_changed_rows(db: Database) -> None:
    bars = load_bars_file(BTC).iloc[:50]
    md.store_bars(db, "binance", "BTC/USDT", "1h", bars)
    changed = bars.copy()
    changed.iloc[10, changed.columns.get_loc("close")] += 1.0
    counts = md.store_bars(
        db, "binance", "BTC/USDT", "1h", pd.concat([changed, load_bars_file(BTC).iloc[50:60]])
    )
    assert counts == {"inserted": 10, "updated": 1, "unchanged": 49}
    assert md.read_bars("BTC/USDT", "1h", db=db).iloc[10]["close"] == bars.iloc[10]["close"] + 1.0


def test_range_paging_and_listing(db: Database) -> None:
    md.import_file(db, SAMSUNG, "005930", "1d", "XKRX")
    md.import_file(db, BTC, "BTC/USDT", "1h", "binance")
    part = md.read_bars("005930", "1d", "2024-01-02", "2024-01-05", db=db)
    assert [d.strftime("%Y-%m-%d") for d in part.index] == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    page1 = md.page_bars("005930", "1d", limit=100, db=db)
    assert len(page1["items"]) == 100 and page1["next_after"] == page1["items"][-1]["ts"]
    seen = list(page1["items"])
    after = page1["next_after"]
    while after:
        page = md.page_bars("005930", "1d", limit=100, after=after, db=db)
        seen += page["items"]
        after = page["next_after"]
    assert len(seen) == 370 and seen[0]["ts"] == "2023-12-05T00:00:00+00:00"
    assert md.page_bars("005930", "1d", limit=10, offset=365, db=db)["items"][-1]["ts"].startswith(
        "2025-06-17"
    )
    datasets = {(d["exchange"], d["symbol"]): d for d in md.list_datasets(db)}
    assert datasets[("XKRX", "005930")]["bars"] == 370
    assert datasets[("binance", "BTC/USDT")]["last"] == "2026-02-19T00:00:00+00:00"
    symbols = {s["symbol"]: s for s in md.list_symbols(db)}
    assert symbols["005930"]["currency"] == "KRW" and symbols["BTC/USDT"]["asset_class"] == "crypto"
    with pytest.raises(NotFoundError):
        md.read_bars("NOPE", "1d", db=db)


def test_synthetic_bulk_round_trip(db: Database) -> None:
    bars = generate_bars(2, 20_000, "1m", seed=3)
    result = md.synth(db, symbols=2, bars=20_000, timeframe="1m", seed=3)
    assert set(result["symbols"]) == {"SYN0", "SYN1"}
    stored = md.read_bars("SYN1", "1m", exchange="SYNTH", db=db)
    pd.testing.assert_frame_equal(stored, bars["SYN1"], check_freq=False)


def test_load_sample_data_is_idempotent(sqlite_db: Database) -> None:
    first = load_sample_data(sqlite_db)
    assert "XKRX:005930:1d" in first["loaded"] and "XNYS:^GSPC:1d" in first["loaded"]
    again = load_sample_data(sqlite_db)
    assert again["loaded"] == [] and len(again["skipped"]) == len(first["loaded"])
    assert md.read_bars("ETH/USDT", "1h", db=sqlite_db).iloc[0]["open"] == 2439.19


def test_news_and_fundamentals_known_at(db: Database, tmp_path: Path) -> None:
    news_csv = tmp_path / "news.csv"
    news_csv.write_text(
        "date,ticker,headline,source,url\n"
        "2024-01-05,AAPL,Apple ships,nasdaq,https://example.invalid/a\n"
        '2024-01-05T14:30:00Z,"AAPL,MSFT",Big tech rally,wire,https://example.invalid/b\n'
    )
    first = news_service.import_news(db, news_csv)
    assert (first["inserted"], first["skipped"], first["scored"]) == (2, 0, {"vader": 2})
    again = news_service.import_news(db, news_csv)
    assert (again["inserted"], again["skipped"], again["scored"]) == (0, 2, {})
    with db.session() as s:
        repo = NewsRepository(s)
        items = repo.read_news("AAPL")
        assert [i["known_at"] for i in items] == [
            "2024-01-06T05:00:00+00:00",
            "2024-01-05T14:30:00+00:00",
        ]
        assert repo.read_news("MSFT")[0]["symbols"] == ["AAPL", "MSFT"]
        assert (
            len(repo.read_news("AAPL", known_by=pd.Timestamp("2024-01-05T20:00Z").to_pydatetime()))
            == 1
        )
    rss = tmp_path / "feed.xml"
    rss.write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Wire</title>"
        "<item><title>Samsung beats</title><link>https://example.invalid/s</link>"
        "<description>Q3</description><pubDate>Tue, 08 Oct 2024 08:00:00 +0900</pubDate>"
        "<category>005930</category></item></channel></rss>"
    )
    assert news_service.import_news(db, rss)["inserted"] == 1
    with db.session() as s:
        (samsung,) = NewsRepository(s).read_news("005930")
        assert (
            samsung["published_at"] == "2024-10-07T23:00:00+00:00" and samsung["source"] == "Wire"
        )

    fundamentals = tmp_path / "fund.csv"
    fundamentals.write_text(
        "날짜,BPS,PER,PBR,EPS,DIV,DPS\n2024-06-28,52002,14.2,1.56,5700,1.8,1444\n"
    )
    assert md.import_fundamentals(db, fundamentals, "XKRX", symbol="005930")["stored"] == 6
    assert md.import_fundamentals(db, fundamentals, "XKRX", symbol="005930")["stored"] == 6
    with db.session() as s:
        rows = FundamentalsRepository(s).read_fundamentals("XKRX", "005930")
    per = next(r for r in rows if r["metric"] == "per")
    assert len(rows) == 6 and per["value"] == 14.2
    assert per["known_at"] == "2024-06-29T00:00:00+00:00"


def test_time_bounds_accept_epoch_ms_and_timestamps_alike() -> None:
    from qts.db.repositories.market import to_epoch_ms

    ms = 1_771_462_800_000  # 2026-02-19T01:00Z
    assert to_epoch_ms(ms) == ms
    assert to_epoch_ms(pd.Timestamp(ms, unit="ms", tz="UTC")) == ms
    assert to_epoch_ms("2026-02-19T01:00:00Z") == ms
