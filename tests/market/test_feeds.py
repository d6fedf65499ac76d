"""Live kline stream against a local fake WebSocket server; replay feed order and speed; bars
published on the event bus reach a WebSocket client in order."""

from __future__ import annotations

import asyncio
import itertools
import time

import pandas as pd
import pytest
from tests.market.fake_ws import FakeKlineServer, kline_event
from websockets.exceptions import ConnectionClosed

from conftest import SAMPLE
from qts.db import Database
from qts.events import InProcessEventBus
from qts.market.binance_stream import BinanceKlineStream
from qts.market.feeds import BarFeed, bar_to_event
from qts.market.files import load_bars_file
from qts.market.replay import ReplayFeed
from qts.services.data import market_data as md

BTC = load_bars_file(SAMPLE / "crypto_1h" / "BTC_USDT.csv").iloc[:30]
ETH = load_bars_file(SAMPLE / "crypto_1h" / "ETH_USDT.csv").iloc[:30]
HOUR = 3_600_000


def test_kline_stream_yields_closed_candles_and_survives_reconnect() -> None:
    def events(sym: str, frame: pd.DataFrame, rows: range) -> list[dict]:
        out = []
        for i in rows:
            out.append(kline_event(sym, "1h", frame.index[i], frame.iloc[i], HOUR, closed=False))
            out.append(kline_event(sym, "1h", frame.index[i], frame.iloc[i], HOUR, closed=True))
        return out

    first = events("BTCUSDT", BTC, range(0, 3)) + events("ETHUSDT", ETH, range(0, 1))
    # after the drop the server re-sends the last closed candle, then new ones
    second = [*events("BTCUSDT", BTC, range(2, 5)), {"result": None, "id": 1}]

    async def run() -> tuple[list, list[str]]:
        async with FakeKlineServer([first, second]) as server:
            stream = BinanceKlineStream(
                ["BTC/USDT", "ETH/USDT"],
                "1h",
                base_url=server.url,
                reconnect_delay=0.01,
                max_reconnects=1,
            )
            assert isinstance(stream, BarFeed)
            bars = [bar async for bar in stream]
            return bars, server.paths

    bars, paths = asyncio.run(asyncio.wait_for(run(), 10))
    assert paths[0] == "/stream?streams=btcusdt@kline_1h/ethusdt@kline_1h"
    btc = [b for b in bars if b.symbol == "BTC/USDT"]
    assert [b.ts for b in btc] == list(BTC.index[:5].to_pydatetime())
    assert btc[0].close == BTC.iloc[0]["close"] and btc[0].exchange == "binance"
    assert [b.symbol for b in bars].count("ETH/USDT") == 1


def test_replay_max_speed_merges_symbols_in_time_order() -> None:
    async def run() -> list:
        return [b async for b in ReplayFeed({"BTC/USDT": BTC, "ETH/USDT": ETH}, "1h")]

    bars = asyncio.run(run())
    assert len(bars) == 60
    assert [(b.ts, b.symbol) for b in bars[:4]] == [
        (BTC.index[0], "BTC/USDT"),
        (ETH.index[0], "ETH/USDT"),
        (BTC.index[1], "BTC/USDT"),
        (ETH.index[1], "ETH/USDT"),
    ]
    assert bars[-1].close == ETH.iloc[-1]["close"]


def test_replay_speed_paces_bars() -> None:
    one_minute = load_bars_file(SAMPLE / "crypto_1h" / "BTC_USDT.csv").iloc[:6]
    one_minute.index = pd.date_range("2024-01-01", periods=6, freq="1min", tz="UTC", name="ts")

    async def run(speed: float | None) -> tuple[float, list[float]]:
        start = time.monotonic()
        stamps = [
            time.monotonic() - start async for _ in ReplayFeed({"X": one_minute}, "1m", speed=speed)
        ]
        return time.monotonic() - start, stamps

    elapsed, stamps = asyncio.run(run(600.0))  # a minute plays in 0.1 s
    assert 0.45 <= elapsed < 1.0
    assert all(0.07 < b - a < 0.2 for a, b in itertools.pairwise(stamps))
    fast, _ = asyncio.run(run(None))
    assert fast < 0.1
    with pytest.raises(ValueError):
        ReplayFeed({"X": one_minute}, "1m", speed=0)


def test_replay_publishes_to_websocket_client_in_order(sqlite_db: Database) -> None:
    """bars:<symbol> events from a replay reach a WebSocket client in order."""
    md.store_bars(sqlite_db, "binance", "BTC/USDT", "1h", BTC)

    async def run() -> list[dict]:
        from websockets.asyncio.client import connect
        from websockets.asyncio.server import serve

        bus = InProcessEventBus()
        received: list[dict] = []
        ready = asyncio.Event()

        async def forward(ws) -> None:  # a minimal topic forwarder, as the API's /ws does
            sub = await bus.subscribe(["bars:*"])
            ready.set()
            from websockets.protocol import State

            try:
                while ws.state is State.OPEN:
                    try:
                        event = await sub.get(timeout=0.2)
                    except TimeoutError:
                        continue  # idle: check whether the client has gone
                    await ws.send(event.to_json())
            except ConnectionClosed:
                pass
            finally:
                await sub.close()

        async with serve(forward, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}") as client:
                await ready.wait()
                published = await md.replay_to_bus(
                    bus, ["BTC/USDT"], "1h", speed=None, db=sqlite_db
                )
                assert published == 30
                import json

                while len(received) < 30:
                    received.append(json.loads(await asyncio.wait_for(client.recv(), 5)))
        return received

    received = asyncio.run(run())
    assert {m["topic"] for m in received} == {"bars:BTC/USDT"}
    assert [m["data"]["ts"] for m in received] == [t.isoformat() for t in BTC.index]
    assert received[0]["data"]["close"] == BTC.iloc[0]["close"]
    assert set(received[0]["data"]) == set(bar_to_event_keys())


def bar_to_event_keys() -> list[str]:
    from datetime import UTC, datetime

    from qts.market.feeds import make_bar

    return list(
        bar_to_event(make_bar("X", "1h", datetime(2024, 1, 1, tzinfo=UTC), (1, 1, 1, 1, 1)))
    )
