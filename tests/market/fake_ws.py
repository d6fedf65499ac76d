"""A local WebSocket server speaking Binance's combined kline stream format."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
from tests.brokers.fakes.binance_market import kline_row


def kline_event(
    symbol_id: str, interval: str, ts: pd.Timestamp, row: Any, step_ms: int, closed: bool
) -> dict[str, Any]:
    """A combined-stream kline message: the REST `klines` row of the bar, under the stream's
    one-letter keys."""
    t, o, h, low, c, v, close_ms, q, n, taker_base, taker_quote, _ = kline_row(
        int(ts.value // 1_000_000), step_ms, row
    )
    return {
        "stream": f"{symbol_id.lower()}@kline_{interval}",
        "data": {
            "e": "kline",
            "E": t + step_ms,
            "s": symbol_id,
            "k": {
                "t": t,
                "T": close_ms,
                "s": symbol_id,
                "i": interval,
                "f": 100,
                "L": 100 + n - 1,
                "o": o,
                "c": c,
                "h": h,
                "l": low,
                "v": v,
                "n": n,
                "x": closed,
                "q": q,
                "V": taker_base,
                "Q": taker_quote,
                "B": "0",
            },
        },
    }


class FakeKlineServer:
    """Sends `sessions[i]` (a list of messages) on the i-th connection, then closes it."""

    def __init__(self, sessions: Iterable[list[dict[str, Any]]]) -> None:
        self.sessions = list(sessions)
        self.paths: list[str] = []
        self._server: Any = None

    async def _handle(self, ws: Any) -> None:
        self.paths.append(ws.request.path)
        index = len(self.paths) - 1
        for message in self.sessions[index] if index < len(self.sessions) else []:
            await ws.send(json.dumps(message))
            await asyncio.sleep(0)
        if index >= len(self.sessions):
            await asyncio.sleep(30)

    async def __aenter__(self) -> FakeKlineServer:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"
