"""The bar stream on Binance's kline WebSocket: closed candles are stored and published as they
arrive, and the candles missed while the connection was down are back-filled from the REST
klines (through ccxt) before the next one is stored."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from tests.brokers.fakes import FakeBinanceSpot
from tests.market.fake_ws import FakeKlineServer, kline_event

from conftest import SAMPLE
from qts.config import Settings
from qts.market.binance_stream import BinanceKlineStream
from qts.market.files import load_bars_file
from qts.services.context import AppContext
from qts.services.data.bar_stream import BarStream
from qts.services.data.live_collection import LiveSymbol
from qts.services.data.market_data import read_bars

BTC = load_bars_file(SAMPLE / "crypto_1h" / "BTC_USDT.csv").iloc[:12]
HOUR = 3_600_000


def _run(tmp_path: Path, rest_errors: int) -> tuple[list[dict], BarStream, AppContext]:
    """Candles 0-4 on the first connection, 8-11 on the second; the REST klines fail
    `rest_errors` times first (each back-fill tries ccxt's retries, six calls)."""
    import asyncio

    from qts.db.migrate import upgrade

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(settings.effective_database_url)
    ctx = AppContext.from_settings(settings)
    published: list[dict] = []
    publish = ctx.bus.publish
    ctx.bus.publish = lambda topic, data: (published.append(data), publish(topic, data))  # type: ignore[method-assign,func-returns-value]

    def closed(rows: range) -> list[dict]:
        return [kline_event("BTCUSDT", "1h", BTC.index[i], BTC.iloc[i], HOUR, True) for i in rows]

    done: list[BarStream] = []

    async def serve() -> None:
        async with FakeKlineServer([closed(range(0, 5)), closed(range(8, 12))]) as ws:
            feed = BinanceKlineStream(
                ["BTC/USDT"], "1h", base_url=ws.url, reconnect_delay=0.01, max_reconnects=1
            )
            spec = LiveSymbol(
                provider="ccxt", exchange="binance", symbol="BTC/USDT", timeframe="1h"
            )
            options = {"ccxt": {"base_url": rest.base_url, "sleep": lambda s: None}}
            stream = BarStream(ctx, [spec], [feed], provider_options=options)
            task = asyncio.create_task(stream.run())
            deadline = time.monotonic() + 20
            while stream.stored + stream.backfilled < 12 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await feed.aclose()
            await stream.stepper.aclose()
            await asyncio.gather(task, return_exceptions=True)
            done.append(stream)

    with FakeBinanceSpot(bars={"BTCUSDT": BTC}) as rest:
        if rest_errors:
            rest.inject("server_error", rest_errors, api="GET /api/v3/klines")
        asyncio.run(asyncio.wait_for(serve(), 30))
        assert rest.requests_for("GET /api/v3/klines")  # the gap came from REST
    pd.testing.assert_frame_equal(read_bars("BTC/USDT", "1h", db=ctx.db), BTC, check_freq=False)
    return [e for e in published if e.get("source") == "stream"], done[0], ctx


def test_binance_candles_are_stored_published_and_gaps_back_filled(tmp_path: Path) -> None:
    streamed, stream, ctx = _run(tmp_path, rest_errors=0)
    assert stream.stored == 9 and stream.backfilled == 3
    assert [pd.Timestamp(e["ts"]) for e in streamed] == [*BTC.index[:5], *BTC.index[8:]]
    assert all(e["exchange"] == "binance" for e in streamed)
    ctx.close()


def test_a_failed_back_fill_stores_nothing_after_the_hole_until_it_is_filled(
    tmp_path: Path,
) -> None:
    streamed, stream, ctx = _run(tmp_path, rest_errors=6)  # candle 8's back-fill fails
    assert stream.backfilled == 4 and stream.stored == 8 and not stream.gaps
    # candle 8 came with the gap (from REST) when candle 9 arrived: never before 5-7
    assert [pd.Timestamp(e["ts"]) for e in streamed] == [*BTC.index[:5], *BTC.index[9:]]
    ctx.close()
