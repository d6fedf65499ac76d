"""Live KRX bars and quotes from the KIS real-time WebSocket (`ws://ops.koreainvestment.com:21000`,
mock 31000).

On every (re)connection: a fresh approval key (`POST /oauth2/Approval`), then one subscription
per symbol to H0STCNT0 (trades) and, with `quotes=True`, H0STASP0 (10-level order book).
PINGPONG heartbeats are echoed. Trades become bars (`kis_realtime.BarBuilder`): a bar closes
when a trade stamped a second past its end arrives (any symbol's), or, once no message is
waiting, when the clock passes its end plus `close_grace_s`. A bar that
was running while the connection was down (or when it first came up) missed trades: it is
taken from the REST minute chart instead (`KisQuotations`), so every bar yielded is whole; bars
missed entirely while disconnected are left to the caller's REST back-fill (`qts stream` does
that before it stores the next bar). A dropped connection is re-opened with backoff and every
subscription sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from qts.core.errors import ServiceUnavailableError, ValidationError
from qts.core.types import Bar
from qts.market.frames import timeframe_ms
from qts.market.kis import KisQuotations
from qts.market.kis_realtime import (
    QUOTE_TR,
    TRADE_TR,
    BarBuilder,
    Quote,
    control_message,
    parse_quote,
    parse_trade,
    split_records,
    subscribe_message,
)

log = logging.getLogger(__name__)
REAL_WS_URL = "ws://ops.koreainvestment.com:21000"
MOCK_WS_URL = "ws://ops.koreainvestment.com:31000"
MAX_SUBSCRIPTIONS = 41  # registrations per connection (trade and quote channels count apart)


class KisRealtimeStream:
    """`async for bar in KisRealtimeStream(["005930"], rest)` yields closed, whole bars."""

    def __init__(
        self,
        symbols: Sequence[str],
        rest: KisQuotations,
        *,
        timeframe: str = "1m",
        ws_url: str | None = None,
        quotes: bool = True,
        on_quote: Callable[[Quote], None] | None = None,
        exchange: str = "XKRX",
        clock: Callable[[], float] = time.time,
        close_grace_s: float = 0.5,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 30.0,
        max_reconnects: int | None = None,
    ) -> None:
        self.symbols = list(symbols)
        channels = len(self.symbols) * (2 if quotes else 1)
        if channels > MAX_SUBSCRIPTIONS:
            raise ValidationError(
                f"KIS allows {MAX_SUBSCRIPTIONS} real-time subscriptions a connection; "
                f"{len(self.symbols)} symbols{' with quotes' if quotes else ''} need {channels}"
            )
        self.rest = rest
        self.timeframe = timeframe
        self.ws_url = ws_url or (MOCK_WS_URL if rest.mock else REAL_WS_URL)
        self.quotes, self.on_quote = quotes, on_quote
        self.clock, self.close_grace_s = clock, close_grace_s
        self.reconnect_delay, self.max_reconnect_delay = reconnect_delay, max_reconnect_delay
        self.max_reconnects = max_reconnects
        self.builder = BarBuilder(timeframe, timeframe_ms(timeframe), exchange)
        self.latest_quotes: dict[str, Quote] = {}
        self.reconnects = 0
        self.pongs = 0
        self.subscribe_errors: list[str] = []
        self._last_ts: dict[str, Any] = {}
        self._ready: deque[Bar | asyncio.Future[Bar | None]] = deque()
        self._closed = False
        self._ws: Any = None

    async def __aiter__(self) -> AsyncIterator[Bar]:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        delay = self.reconnect_delay
        await asyncio.to_thread(self.rest.warm_up)  # token and calendar before the first bar
        while not self._closed:
            try:
                key = await asyncio.to_thread(self.rest.approval_key)
                async with connect(self.ws_url, open_timeout=10, ping_interval=None) as ws:
                    self._ws = ws
                    self.builder.connected(self.symbols)
                    await self._subscribe(ws, key)
                    delay = self.reconnect_delay
                    async for bar in self._read(ws):
                        yield bar
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                if not self._closed:
                    log.warning("KIS WebSocket dropped (%s); reconnecting", type(exc).__name__)
            except ServiceUnavailableError as exc:  # no approval key: KIS is down, try again
                log.warning("KIS approval key unavailable (%s); retrying", exc.message)
            finally:
                self._ws = None
            for bar in await self._drain(wait=True):  # bars finished before the drop count
                yield bar
            if self._closed or (
                self.max_reconnects is not None and self.reconnects >= self.max_reconnects
            ):
                return
            self.reconnects += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_reconnect_delay)

    async def _subscribe(self, ws: Any, key: str) -> None:
        channels = [TRADE_TR, QUOTE_TR] if self.quotes else [TRADE_TR]
        for symbol in self.symbols:
            for tr_id in channels:
                await ws.send(subscribe_message(key, tr_id, symbol))

    async def _read(self, ws: Any) -> AsyncIterator[Bar]:
        tick = min(0.1, max(self.close_grace_s, 0.01))
        while not self._closed:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=tick)
            except TimeoutError:
                # Closing by the clock only once the socket is drained: a backlog of messages
                # must not cut the bars they belong to.
                now_ms = int((self.clock() - self.close_grace_s) * 1000)
                self._finish(self.builder.due(now_ms))
            else:
                await self._handle(ws, raw if isinstance(raw, str) else raw.decode())
            for bar in await self._drain(wait=False):
                yield bar

    async def _drain(self, wait: bool) -> list[Bar]:
        """The bars ready in order; a bar being repaired from REST holds the ones after it
        (unless `wait`), while reading goes on."""
        out: list[Bar] = []
        while self._ready:
            head = self._ready[0]
            if isinstance(head, asyncio.Future):
                if not (wait or head.done()):
                    break
                result = await head
            else:
                result = head
            self._ready.popleft()
            if result is not None:
                out.append(result)
        return out

    async def _handle(self, ws: Any, text: str) -> None:
        control = control_message(text)
        if control is not None:
            header = control.get("header") or {}
            if header.get("tr_id") == "PINGPONG":
                await ws.send(text)  # KIS closes connections that do not answer
                self.pongs += 1
                return
            body = control.get("body") or {}
            if body.get("rt_cd") not in (None, "0") and "ALREADY" not in str(body.get("msg1")):
                self.subscribe_errors.append(f"{body.get('msg_cd')}: {body.get('msg1')}")
                log.warning("KIS subscription refused: %s", self.subscribe_errors[-1])
            return
        parsed = split_records(text)
        if parsed is None:
            return
        tr_id, records = parsed
        for fields in records:
            if tr_id == TRADE_TR:
                trade = parse_trade(fields)
                self._finish(self.builder.add(trade))
                # a trade a second past another symbol's bar end closes that bar too
                self._finish(self.builder.due(int(trade.ts.timestamp() * 1000) - 1000))
            elif tr_id == QUOTE_TR:
                quote = parse_quote(fields)
                self.latest_quotes[quote.symbol] = quote
                if self.on_quote is not None:
                    self.on_quote(quote)

    def _finish(self, closed: list[tuple[Bar, bool]]) -> None:
        for bar, complete in closed:
            last = self._last_ts.get(bar.symbol)
            if last is not None and bar.ts <= last:
                continue
            self._last_ts[bar.symbol] = bar.ts
            if complete:
                self._ready.append(bar)
            else:  # repaired from REST while reading goes on; None leaves it to the back-fill
                self._ready.append(asyncio.ensure_future(asyncio.to_thread(self._from_rest, bar)))

    def _from_rest(self, bar: Bar) -> Bar | None:
        from qts.market.feeds import make_bar

        start = int(bar.ts.timestamp() * 1000)
        try:
            frame = self.rest.fetch(bar.symbol, self.timeframe, start, start + self.builder.step_ms)
        except Exception as exc:  # REST trouble: the back-fill tries again later
            log.warning("KIS REST repair of %s %s failed: %s", bar.symbol, bar.ts, exc)
            return None
        if frame.empty or frame.index[0].value // 1_000_000 != start:
            return None
        row = frame.iloc[0]
        ohlcv = (row.open, row.high, row.low, row.close, row.volume)
        return make_bar(bar.symbol, bar.timeframe, bar.ts, ohlcv, bar.exchange)

    async def aclose(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()
