"""Kiwoom minute bars (ka10080, paged by cont-yn / next-key) and quotes (ka10004) against the fake
Kiwoom server, behind the same provider interface as KIS."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.brokers.fakes.kis_market import SimClock
from tests.brokers.fakes.kiwoom_market import FakeKiwoomMarket
from tests.market.krx_minutes import krx_minute_bars

from qts.core.errors import ValidationError
from qts.market.kiwoom import KiwoomQuotations
from qts.services.data.providers import make_provider

BARS = krx_minute_bars(390)


def _client(fake: FakeKiwoomMarket, clock: SimClock, **kw: object) -> KiwoomQuotations:
    return KiwoomQuotations(
        fake.app_key, fake.secret_key, base_url=fake.base_url, clock=clock, rate_per_s=200,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_minute_bars_are_paged_back_and_the_running_minute_is_dropped() -> None:
    clock = SimClock(pd.Timestamp("2024-03-04 13:20:30", tz="Asia/Seoul").timestamp())
    with FakeKiwoomMarket({"005930": BARS}, clock=clock, chart_page=100) as fake:
        client = _client(fake, clock)
        since = int(BARS.index[0].value // 1_000_000)
        got = client.fetch("005930", "1m", since)
        pd.testing.assert_frame_equal(got, BARS.iloc[:260], check_freq=False)  # 13:20 runs
        charts = fake.requests_for("ka10080")
        assert len(charts) == 3 and [r.headers.get("next-key") for r in charts] == [
            None,
            "100",
            "200",
        ]
        assert charts[0].body == {"stk_cd": "005930", "tic_scope": "1", "upd_stkpc_tp": "1"}
        window = client.fetch("005930", "1m", since + 60 * 60_000, since + 70 * 60_000)
        pd.testing.assert_frame_equal(window, BARS.iloc[60:70], check_freq=False)
        with pytest.raises(ValidationError):
            client.fetch("005930", "7m", since)
        client.close()


def test_a_quote_is_the_ten_level_book_without_the_day_change_signs() -> None:
    clock = SimClock(pd.Timestamp("2024-03-04 09:10:30", tz="Asia/Seoul").timestamp())
    with FakeKiwoomMarket({"005930": BARS}, clock=clock) as fake:
        client = _client(fake, clock)
        quote = client.quote("005930")
        last = BARS["close"].iloc[10]
        assert quote.best_ask == last + 100 and quote.best_bid == last
        assert quote.asks[9] == (last + 1000, 1009.0) and quote.bids[9] == (last - 900, 909.0)
        assert quote.total_ask_quantity == 10045 and quote.total_bid_quantity == 9045
        with pytest.raises(ValidationError, match="종목코드"):
            client.quote("999999")
        client.close()


def test_rate_limits_are_waited_out_and_an_invalid_token_renewed(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = SimClock(pd.Timestamp("2024-03-04 09:30:30", tz="Asia/Seoul").timestamp())
    with FakeKiwoomMarket({"005930": BARS}, clock=clock) as fake:
        for name, value in {
            "QTS_KIWOOM_APP_KEY": fake.app_key,
            "QTS_KIWOOM_SECRET_KEY": fake.secret_key,
            "QTS_KIWOOM_MARKET_URL": fake.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        waits: list[float] = []
        client = make_provider("kiwoom", "XKRX", {"clock": clock, "sleep": waits.append})
        client.token()  # type: ignore[attr-defined]
        fake.expire_tokens()
        fake.inject("rate_limit", 2, api="ka10080")
        pages = list(client.fetch_pages("005930", "1m", int(BARS.index[0].value // 1_000_000)))
        assert sum(len(p) for p in pages) == 30
        assert waits.count(1.0) == 2 and fake.token_requests == 2
