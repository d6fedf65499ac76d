"""A local WebSocket server speaking Binance's combined kline stream format."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import pandas as pd


def kline_event(
    symbol_id: str, interval: str, ts: pd.Timestamp, row: Any, step_ms: int, closed: bool
) -> dict[str, Any]:
    t = int(ts.value // 1_000_000)
    return {
        "stream": f"{symbol_id.lower()}@kline_{interval}",
        "data": {
            "e": "kline",
            "E": t + step_ms,
            "s": symbol_id,
            "k": {
                "t": t,
                "T": t + step_ms - 1,
                "s": symbol_id,
                "i": interval,
                "f": 100,
                "L": 200,
                "o": f"{row['open']:.2f}",
                "c": f"{row['close']:.2f}",
                "h": f"{row['high']:.2f}",
                "l": f"{row['low']:.2f}",
                "v": f"{row['volume']:.5f}",
                "n": 100,
                "x": closed,
                "q": "1.0",
                "V": "0.5",
                "Q": "0.5",
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
