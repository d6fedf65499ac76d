"""Live bars from Binance's public kline WebSocket stream (closed candles only).

Connects to ``<base>/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m`` (the combined-stream
form, whose messages are ``{"stream": ..., "data": <kline event>}``; raw ``/ws/`` events are
accepted too). A kline event's ``k.x`` is true once the candle has closed; only those become
bars. The connection is re-opened with backoff when it drops, and a bar already yielded is not
yielded again after a reconnect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from qts.core.types import Bar
from qts.market.feeds import make_bar
from qts.market.frames import timeframe_ms

BINANCE_STREAM_URL = "wss://stream.binance.com:9443"


def stream_name(symbol: str, timeframe: str) -> str:
    return f"{symbol.replace('/', '').lower()}@kline_{timeframe}"


def parse_kline_event(
    message: dict[str, Any], symbols_by_id: dict[str, str], exchange: str = "binance"
) -> Bar | None:
    """A closed-candle Bar from one stream message, or None (open candle, other event)."""
    data = message.get("data", message)
    if not isinstance(data, dict) or data.get("e") != "kline":
        return None
    k = data["k"]
    if not k.get("x"):
        return None
    symbol_id = str(k.get("s") or data.get("s", "")).upper()
    symbol = symbols_by_id.get(symbol_id, symbol_id)
    ts = datetime.fromtimestamp(int(k["t"]) / 1000, tz=UTC)
    ohlcv = (float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]), float(k["v"]))
    return make_bar(symbol, str(k["i"]), ts, ohlcv, exchange)


class BinanceKlineStream:
    """`async for bar in BinanceKlineStream(["BTC/USDT"], "1m")` yields closed bars forever."""

    def __init__(
        self,
        symbols: Sequence[str],
        timeframe: str = "1m",
        *,
        base_url: str = BINANCE_STREAM_URL,
        exchange: str = "binance",
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 60.0,
        max_reconnects: int | None = None,
    ) -> None:
        timeframe_ms(timeframe)
        self.symbols = list(symbols)
        self.timeframe = timeframe
        self.base_url = base_url.rstrip("/")
        self.exchange = exchange
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.max_reconnects = max_reconnects
        self.reconnects = 0
        self._by_id = {s.replace("/", "").upper(): s for s in self.symbols}
        self._last_ts: dict[str, datetime] = {}
        self._closed = False
        self._ws: Any = None

    @property
    def url(self) -> str:
        streams = "/".join(stream_name(s, self.timeframe) for s in self.symbols)
        return f"{self.base_url}/stream?streams={streams}"

    async def __aiter__(self) -> AsyncIterator[Bar]:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        delay = self.reconnect_delay
        while not self._closed:
            try:
                async with connect(self.url, open_timeout=10) as ws:
                    self._ws = ws
                    delay = self.reconnect_delay
                    async for raw in ws:
                        bar = parse_kline_event(json.loads(raw), self._by_id, self.exchange)
                        if bar is None:
                            continue
                        last = self._last_ts.get(bar.symbol)
                        if last is not None and bar.ts <= last:
                            continue  # replayed after a reconnect
                        self._last_ts[bar.symbol] = bar.ts
                        yield bar
            except (ConnectionClosed, OSError, TimeoutError):
                pass
            finally:
                self._ws = None
            if self._closed:
                return
            if self.max_reconnects is not None and self.reconnects >= self.max_reconnects:
                return
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_reconnect_delay)

    async def aclose(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
