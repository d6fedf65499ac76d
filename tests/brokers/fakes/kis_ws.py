"""A fake KIS real-time WebSocket in KIS's published format, playing a market session.

Clients send `{"header": {approval_key, custtype, tr_type, content-type}, "body": {"input":
{tr_id, tr_key}}}`; keys must have been issued by the fake REST server's `/oauth2/Approval`.
Answers: `SUBSCRIBE SUCCESS` (OPSP0000, with AES iv/key), `ALREADY IN SUBSCRIBE` (OPSP0002),
`invalid approval : NOT FOUND` (OPSP0011). Data goes out as `0|H0STCNT0|001|f^f^...` (46 fields)
and `0|H0STASP0|001|...` (59 fields); a `PINGPONG` JSON every `ping_every` events, which the
client must echo.

The session is played by one pump, whatever clients are connected: each bar of `bars` becomes
four trades (open at :05, high :20, low :35, close :50; volume split in four) and a quote at
:10, one event every `interval_s` wall seconds, advancing the shared `SimClock`. Trades sent
while a client is away are lost to it, as on the real service. Faults: `kill(at_event,
down_events)` closes every connection at that event and refuses handshakes for a while;
`delay_s` delays every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from tests.brokers.fakes.kis_market import SimClock

KST = ZoneInfo("Asia/Seoul")
TRADE_TR, QUOTE_TR = "H0STCNT0", "H0STASP0"


def trade_fields(symbol: str, at: pd.Timestamp, price: float, volume: float) -> list[str]:
    kst = at.tz_convert(KST)
    fields = ["0"] * 46
    fields[0], fields[1], fields[2] = symbol, kst.strftime("%H%M%S"), str(int(price))
    fields[3], fields[12], fields[21] = "2", str(int(volume)), "1"
    fields[33], fields[34], fields[35] = kst.strftime("%Y%m%d"), "20", "N"
    fields[43] = "0"
    return fields


def quote_fields(symbol: str, at: pd.Timestamp, mid: float) -> list[str]:
    fields = ["0"] * 59
    fields[0], fields[1], fields[2] = symbol, at.tz_convert(KST).strftime("%H%M%S"), "0"
    for i in range(10):
        fields[3 + i] = str(int(mid + 100 * (i + 1)))  # asks
        fields[13 + i] = str(int(mid - 100 * i))  # bids
        fields[23 + i], fields[33 + i] = str(1000 + i), str(900 + i)
    fields[43], fields[44] = "10045", "9045"
    return fields


def session_events(bars: dict[str, pd.DataFrame]) -> list[tuple[float, str, str, str]]:
    """(sim epoch seconds, tr_id, symbol, message) in time order."""
    out = []
    for symbol, frame in bars.items():
        for ts, bar in frame.iterrows():
            quarter = float(bar["volume"]) // 4
            volumes = [quarter, quarter, quarter, float(bar["volume"]) - 3 * quarter]
            prices = [bar["open"], bar["high"], bar["low"], bar["close"]]
            for second, price, volume in zip((5, 20, 35, 50), prices, volumes, strict=True):
                at = ts + pd.Timedelta(seconds=second)
                text = "0|H0STCNT0|001|" + "^".join(trade_fields(symbol, at, price, volume))
                out.append((at.timestamp(), TRADE_TR, symbol, text))
            at = ts + pd.Timedelta(seconds=10)
            text = "0|H0STASP0|001|" + "^".join(quote_fields(symbol, at, float(bar["open"])))
            out.append((at.timestamp(), QUOTE_TR, symbol, text))
    return sorted(out, key=lambda e: (e[0], e[1], e[2]))


class FakeKisWebSocket:
    def __init__(
        self,
        bars: dict[str, pd.DataFrame],
        clock: SimClock,
        approval_keys: set[str],
        *,
        interval_s: float = 0.005,
        ping_every: int = 25,
        delay_s: float = 0.0,
    ) -> None:
        self.events = session_events(bars)
        self.clock, self.approval_keys = clock, approval_keys
        self.interval_s, self.ping_every, self.delay_s = interval_s, ping_every, delay_s
        self.kill_at: dict[int, int] = {}  # event index -> events to stay down
        self.sent_wall: dict[tuple[str, int], float] = {}  # first trade of (symbol, minute ms)
        self.connections = 0
        self.subscriptions: list[tuple[str, str]] = []
        self.pongs = 0
        self.done = threading.Event()
        self._clients: dict[Any, set[tuple[str, str]]] = {}
        self._down_until = -1
        self._index = 0
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    def start(self) -> FakeKisWebSocket:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve(ready))

        self._thread = threading.Thread(target=run, daemon=True, name="fake-kis-ws")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeKisWebSocket:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill(self, at_event: int, down_events: int = 20) -> None:
        """Close every connection when event `at_event` is due; refuse handshakes until
        `down_events` more events have been played."""
        self.kill_at[at_event] = down_events

    def play(self) -> None:
        """Start the session (it also starts on the first subscription)."""
        self._started.set()

    # Server ------------------------------------------------------------------------------------
    async def _serve(self, ready: threading.Event) -> None:
        from websockets.asyncio.server import serve

        self._stop = asyncio.Event()
        self._server = await serve(self._handle, "127.0.0.1", 0, ping_interval=None)
        ready.set()
        pump = asyncio.create_task(self._pump())
        await self._stop.wait()
        pump.cancel()
        self._server.close()
        await self._server.wait_closed()

    _stop: asyncio.Event | None = None

    async def _handle(self, ws: Any) -> None:
        if self._index < self._down_until:
            await ws.close(1013, "try again later")
            return
        self.connections += 1
        self._clients[ws] = set()
        try:
            async for raw in ws:
                await self._on_message(ws, str(raw))
        except Exception:  # a dropped client
            pass
        finally:
            self._clients.pop(ws, None)

    async def _on_message(self, ws: Any, raw: str) -> None:
        message = json.loads(raw)
        header = message.get("header") or {}
        if header.get("tr_id") == "PINGPONG":
            self.pongs += 1
            return
        body = (message.get("body") or {}).get("input") or {}
        tr_id, symbol = body.get("tr_id", ""), body.get("tr_key", "")
        answer_header = {"tr_id": tr_id, "tr_key": symbol, "encrypt": "N"}
        if header.get("approval_key") not in self.approval_keys:
            out = {"rt_cd": "1", "msg_cd": "OPSP0011", "msg1": "invalid approval : NOT FOUND"}
        elif (tr_id, symbol) in self._clients[ws]:
            out = {"rt_cd": "1", "msg_cd": "OPSP0002", "msg1": "ALREADY IN SUBSCRIBE"}
        else:
            self._clients[ws].add((tr_id, symbol))
            self.subscriptions.append((tr_id, symbol))
            iv, key = "0123456789abcdef", "0123456789abcdef0123456789abcdef"
            out = {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS"}
            out["output"] = {"iv": iv, "key": key}
            self._started.set()
        await ws.send(json.dumps({"header": answer_header, "body": out}))

    async def _send_all(self, tr_id: str | None, symbol: str | None, text: str) -> None:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        for ws, subs in list(self._clients.items()):
            if tr_id is None or (tr_id, symbol) in subs:
                with contextlib.suppress(Exception):
                    await ws.send(text)

    async def _pump(self) -> None:
        while not self._started.is_set():
            await asyncio.sleep(0.005)
        for index, (at, tr_id, symbol, text) in enumerate(self.events):
            self._index = index
            if index in self.kill_at:
                self._down_until = index + self.kill_at[index]
                for ws in list(self._clients):
                    await ws.close(1011, "fake server killed")
            await asyncio.sleep(self.interval_s)
            self.clock.value = at
            if tr_id == TRADE_TR:
                minute = int(at // 60 * 60_000)
                self.sent_wall.setdefault((symbol, minute), time.time())
            await self._send_all(tr_id, symbol, text)
            if self.ping_every and index % self.ping_every == self.ping_every - 1:
                stamp = pd.Timestamp(at, unit="s", tz="UTC").tz_convert(KST)
                ping = {"header": {"tr_id": "PINGPONG", "datetime": stamp.strftime("%Y%m%d%H%M%S")}}
                await self._send_all(None, None, json.dumps(ping))
        self._index = len(self.events)
        self.clock.value = self.events[-1][0] + 60.0  # the last minute has ended
        self.done.set()
