"""ccxt against a local fake of Binance's REST API: paging, resume, rate limits, errors."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.brokers.fakes.binance import KLINES, FakeBinanceSpot

from conftest import SAMPLE
from qts.core.errors import RateLimitedError, ValidationError
from qts.db import Database
from qts.market.crypto import CcxtProvider
from qts.market.files import load_bars_file
from qts.services.data import market_data as md

BTC = load_bars_file(SAMPLE / "crypto_1h" / "BTC_USDT.csv").iloc[:2600]
START_MS = int(BTC.index[0].value // 1_000_000)


def klines_queries(fake: FakeBinanceSpot) -> list[dict[str, str]]:
    return [r.query for r in fake.requests_for(KLINES)]


def test_paged_history_equals_source() -> None:
    with FakeBinanceSpot(bars={"BTCUSDT": BTC}) as fake:
        provider = CcxtProvider("binance", base_url=fake.base_url, sleep=lambda s: None)
        bars = provider.fetch("BTC/USDT", "1h", START_MS)
        pd.testing.assert_frame_equal(bars, BTC, check_freq=False)
        starts = [int(q["startTime"]) for q in klines_queries(fake)]
        # 1000-bar pages, each starting one hour after the previous page's last bar
        assert starts[:3] == [START_MS, START_MS + 1000 * 3_600_000, START_MS + 2000 * 3_600_000]
        assert all(q["symbol"] == "BTCUSDT" and q["interval"] == "1h" for q in klines_queries(fake))
        assert provider.market_info("BTC/USDT")["tick_size"] == 0.01


def test_rate_limits_retry_after_then_succeed() -> None:
    waits: list[float] = []
    with FakeBinanceSpot(bars={"BTCUSDT": BTC}) as fake:
        fake.inject(
            "answer",
            api=KLINES,
            answer=(429, {"Retry-After": "3"}, {"code": -1003, "msg": "Too many requests."}),
        )
        fake.inject(
            "answer",
            api=KLINES,
            answer=(
                418,
                {"Retry-After": "7"},
                {"code": -1003, "msg": "Way too many requests; IP banned."},
            ),
        )
        provider = CcxtProvider("binance", base_url=fake.base_url, sleep=waits.append)
        bars = provider.fetch("BTC/USDT", "1h", START_MS, START_MS + 24 * 3_600_000)
    assert waits == [3.0, 7.0] and provider.retries == 2
    assert len(bars) == 24


def test_long_ban_gives_up_with_rate_limited_error() -> None:
    with FakeBinanceSpot(bars={"BTCUSDT": BTC}) as fake:
        fake.inject(
            "answer",
            api=KLINES,
            answer=(418, {"Retry-After": "7200"}, {"code": -1003, "msg": "IP banned until later."}),
        )
        provider = CcxtProvider(
            "binance", base_url=fake.base_url, max_wait_s=60, sleep=lambda s: None
        )
        with pytest.raises(RateLimitedError) as info:
            provider.fetch("BTC/USDT", "1h", START_MS)
    assert info.value.details["retry_after_s"] == 7200.0


def test_invalid_symbol_error_json() -> None:
    with FakeBinanceSpot(bars={"BTCUSDT": BTC}) as fake:
        provider = CcxtProvider("binance", base_url=fake.base_url, sleep=lambda s: None)
        provider.load_markets()
        fake.inject(
            "answer", api=KLINES, answer=(400, {}, {"code": -1121, "msg": "Invalid symbol."})
        )
        with pytest.raises(ValidationError, match="Invalid symbol"):
            provider.fetch("BTC/USDT", "1h", START_MS)
        with pytest.raises(ValidationError, match="unknown symbol"):
            provider.fetch("DOGE/USDT", "1h", START_MS)
    with pytest.raises(ValidationError, match="unknown ccxt exchange"):
        CcxtProvider("no-such-exchange").load_markets()


def test_service_fetch_stores_pages_and_resumes(sqlite_db: Database) -> None:
    progress: list[int] = []
    until = BTC.index[1500]
    with FakeBinanceSpot(bars={"BTCUSDT": BTC}) as fake:
        options = {"base_url": fake.base_url, "sleep": lambda s: None}
        first = md.fetch(
            "ccxt",
            "binance",
            "BTC/USDT",
            "1h",
            BTC.index[0],
            lambda done, total: progress.append(done),
            until=until,
            db=sqlite_db,
            provider_options=options,
        )
        assert first["fetched"] == 1500 and progress == [1000, 1500]
        fake.requests.clear()
        second = md.fetch(
            "ccxt",
            "binance",
            "BTC/USDT",
            "1h",
            BTC.index[0],
            None,
            until=BTC.index[-1] + pd.Timedelta(hours=1),
            db=sqlite_db,
            provider_options=options,
        )
        # resumed after the last stored bar: nothing fetched twice
        assert second["resumed_from"] == BTC.index[1500].isoformat()
        assert int(klines_queries(fake)[0]["startTime"]) == int(BTC.index[1500].value // 1_000_000)
        assert second["inserted"] == 1100 and second["fetched"] == 1100
    stored = md.read_bars("BTC/USDT", "1h", db=sqlite_db)
    pd.testing.assert_frame_equal(stored, BTC, check_freq=False)
    (symbol,) = md.list_symbols(sqlite_db)
    assert symbol["quantity_step"] == 0.00001 and symbol["currency"] == "USDT"
