"""KIS minute bars (paged, rate-limited, token refresh) and the KIS real-time WebSocket (approval
key, trade and quote channels, PINGPONG, reconnect with resubscribe) against local fakes."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
import pytest
from tests.brokers.fakes.kis_market import FakeKisMarket, SimClock
from tests.brokers.fakes.kis_ws import FakeKisWebSocket
from tests.market.krx_minutes import krx_minute_bars, session_start_s

from qts.core.errors import ValidationError
from qts.market.kis import KisQuotations
from qts.market.kis_stream import KisRealtimeStream

FULL_DAY = krx_minute_bars(390)  # 09:00 .. 15:29


def _client(fake: FakeKisMarket, clock: SimClock, **kw: object) -> KisQuotations:
    return KisQuotations(
        fake.app_key,
        fake.app_secret,
        base_url=fake.base_url,
        clock=clock,
        rate_per_s=kw.pop("rate_per_s", 200.0),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_a_whole_session_is_paged_back_from_the_daily_minute_chart() -> None:
    clock = SimClock(pd.Timestamp("2024-03-05 10:00", tz="Asia/Seoul").timestamp())
    with FakeKisMarket({"005930": FULL_DAY}, clock=clock, mock=False) as fake:
        client = _client(fake, clock)
        since = int(FULL_DAY.index[0].value // 1_000_000)
        bars = client.fetch("005930", "1m", since - 86_400_000 * 3)  # a weekend before it
        pd.testing.assert_frame_equal(bars, FULL_DAY, check_freq=False)
        charts = fake.requests_for("FHKST03010230")
        days = [r.query["FID_INPUT_DATE_1"] for r in charts]
        assert days == ["20240304"] * 4 + ["20240305"]  # 03-01 is a holiday, 03-02/03 a weekend
        charts = charts[:4]  # 390 minutes, 120 a page
        assert [r.query["FID_INPUT_HOUR_1"] for r in charts] == [
            "153000", "132959", "112959", "092959",
        ]  # fmt: skip
        five = client.fetch("005930", "5m", since, since + 30 * 60_000)
        assert len(five) == 6
        first = FULL_DAY.iloc[:5]
        assert five.iloc[0].tolist() == [
            first.open.iloc[0], first.high.max(), first.low.min(),
            first.close.iloc[-1], first.volume.sum(),
        ]  # fmt: skip
        with pytest.raises(ValidationError):
            client.fetch("005930", "1d", since)
        client.close()


def test_mock_accounts_read_todays_chart_and_drop_the_running_minute() -> None:
    # 10:15:30 on the session day: 75 minutes have closed, 10:15 is running.
    clock = SimClock(pd.Timestamp("2024-03-04 10:15:30", tz="Asia/Seoul").timestamp())
    with FakeKisMarket({"005930": FULL_DAY}, clock=clock, mock=True) as fake:
        client = _client(fake, clock, mock=True)
        bars = client.fetch("005930", "1m", int(FULL_DAY.index[0].value // 1_000_000))
        pd.testing.assert_frame_equal(bars, FULL_DAY.iloc[:75], check_freq=False)
        assert len(fake.requests_for("FHKST03010200")) == 3  # 30 rows a page
        assert not fake.requests_for("FHKST03010230")
        client.close()


def test_rate_limit_answers_are_waited_out_and_an_expired_token_is_renewed() -> None:
    clock = SimClock(pd.Timestamp("2024-03-04 09:40:00", tz="Asia/Seoul").timestamp())
    with FakeKisMarket({"005930": FULL_DAY}, clock=clock, mock=False) as fake:
        waits: list[float] = []
        client = _client(fake, clock, sleep=waits.append)
        client.token()
        fake.expire_tokens()
        fake.inject("rate_limit", 2, api="FHKST03010230")
        fake.inject("drop_before", 1, api="FHKST03010230")  # a dropped connection is retried
        bars = client.fetch("005930", "1m", int(FULL_DAY.index[0].value // 1_000_000))
        assert len(bars) == 40
        assert fake.token_requests == 2  # refreshed once
        assert waits.count(1.0) == 2  # each EGW00201 waits for the next second
        client.close()


def test_requests_stay_under_the_per_second_limit() -> None:
    clock = SimClock(pd.Timestamp("2024-03-05 10:00", tz="Asia/Seoul").timestamp())
    with FakeKisMarket({"005930": FULL_DAY}, clock=clock, mock=False, max_per_second=5) as fake:
        client = _client(fake, clock, rate_per_s=4.0)  # a margin under the server's count
        client.token()
        started = time.monotonic()
        client.fetch("005930", "1m", int(FULL_DAY.index[0].value // 1_000_000))
        assert fake.rate_limited_count == 0
        assert time.monotonic() - started >= 0.9  # 5 pages at 4/s
        client.close()


def _stream_run(
    bars: dict[str, pd.DataFrame],
    kill: tuple[int, int] | None = None,
    delay_s: float = 0.0,
    approval_errors: int = 0,
) -> tuple[list, FakeKisWebSocket, KisRealtimeStream]:
    clock = SimClock(session_start_s())
    with FakeKisMarket(bars, clock=clock, mock=True) as fake:
        if approval_errors:
            fake.inject("server_error", approval_errors, api="/oauth2/Approval")
        rest = _client(fake, clock, mock=True)
        with FakeKisWebSocket(
            bars, clock, fake.approval_keys, ping_every=10, delay_s=delay_s
        ) as ws:
            if kill:
                ws.kill(*kill)
            stream = KisRealtimeStream(
                list(bars), rest, ws_url=ws.url, clock=clock, reconnect_delay=0.01
            )

            async def run() -> list:
                out = []
                total = sum(len(f) for f in bars.values())
                async for bar in stream:
                    out.append(bar)
                    if ws.done.is_set() and len(out) >= total - (kill[1] // 5 + 2 if kill else 0):
                        await asyncio.sleep(0.3)
                        await stream.aclose()
                return out

            got = asyncio.run(asyncio.wait_for(run(), 30))
        rest.close()
    return got, ws, stream


def test_trades_become_the_sessions_bars_with_quotes_and_pingpong() -> None:
    bars = {"005930": krx_minute_bars(12), "000660": krx_minute_bars(12, symbol_offset=40)}
    got, ws, stream = _stream_run(bars)
    for symbol, frame in bars.items():
        mine = [b for b in got if b.symbol == symbol]
        assert [pd.Timestamp(b.ts) for b in mine] == list(frame.index)
        assert [[b.open, b.high, b.low, b.close, b.volume] for b in mine] == frame.values.tolist()
    assert sorted(ws.subscriptions) == sorted(
        (tr, s) for s in bars for tr in ("H0STCNT0", "H0STASP0")
    )
    assert ws.pongs == stream.pongs > 0
    quote = stream.latest_quotes["005930"]
    assert quote.best_ask == bars["005930"].open.iloc[-1] + 100
    assert len(quote.bids) == 10 and quote.total_ask_quantity == 10045


def test_a_killed_connection_reconnects_resubscribes_and_repairs_the_running_minute() -> None:
    frame = krx_minute_bars(12)
    # 5 events a minute: killed at minute 4's second trade, down for ~2 minutes of events;
    # the approval endpoint fails twice on the way (first connection and a reconnection)
    got, ws, stream = _stream_run({"005930": frame}, kill=(21, 10), approval_errors=2)
    assert stream.reconnects >= 1 and ws.connections >= 2
    assert ws.subscriptions.count(("H0STCNT0", "005930")) == ws.connections
    stamps = [pd.Timestamp(b.ts) for b in got]
    assert stamps == sorted(set(stamps))  # no duplicates, in order
    for bar in got:  # every bar yielded is whole, missed trades or not
        assert [bar.open, bar.high, bar.low, bar.close, bar.volume] == frame.loc[
            pd.Timestamp(bar.ts)
        ].tolist()
    missing = [t for t in frame.index if t not in stamps]
    assert missing and len(missing) <= 3  # left for the REST back-fill of `qts stream`
    assert stamps[-1] == frame.index[-1]


def test_more_subscriptions_than_kis_allows_are_refused() -> None:
    clock = SimClock(session_start_s())
    rest = KisQuotations("key", "secret", base_url="http://127.0.0.1:9", clock=clock)
    symbols = [f"{i:06d}" for i in range(21)]
    with pytest.raises(ValidationError, match="41 real-time subscriptions"):
        KisRealtimeStream(symbols, rest)
    assert len(KisRealtimeStream(symbols, rest, quotes=False).symbols) == 21
    rest.close()


def test_a_slow_socket_still_gives_whole_bars() -> None:
    frame = krx_minute_bars(6, symbol_offset=200)
    got, ws, stream = _stream_run({"005930": frame}, delay_s=0.02)  # every message late
    assert [[b.open, b.high, b.low, b.close, b.volume] for b in got] == frame.values.tolist()
    assert ws.pongs == stream.pongs > 0
