"""The bar stream (`qts stream`; a thread of `qts up` in embedded mode): holds the live
WebSockets (KIS real-time for KRX, Binance kline), stores each closed bar and publishes it on
`bars:<symbol>` with `"source": "stream"`; `qts.services.trading.bar_steps.SessionStepper`
hears that and steps every running live session on the symbol at once, instead of waiting for
the 60-second `strategies` job (which stays, as the fallback).

Gaps: before a bar is stored, the bars between the last stored one and it are fetched from the
provider's REST API and stored first (a dropped connection, a restart), so a session stepping
after this bar sees the missed bars first, in order. While the back-fill fails the bar is not
stored (nor published); the next bar's back-fill fetches the whole gap, that bar included.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from qts.core.types import Bar
from qts.services.context import AppContext
from qts.services.data.live_collection import LiveCollectionSettings, LiveSymbol

log = logging.getLogger(__name__)


class StreamSettings(BaseSettings):
    """`QTS_STREAM_SYMBOLS` (JSON list like `QTS_LIVE_SYMBOLS`; default: the live symbols whose
    provider streams: `kis`, and `ccxt` on binance), `QTS_KIS_WS_URL`, `QTS_BINANCE_WS_URL`
    (local fakes, proxies), `QTS_STREAM_EMBEDDED` (`qts up` runs the stream in a thread)."""

    model_config = SettingsConfigDict(env_prefix="QTS_", env_file=".env", extra="ignore")

    stream_symbols: list[LiveSymbol] = Field(default_factory=list)
    kis_ws_url: str | None = None
    binance_ws_url: str | None = None
    stream_embedded: bool = True


def streams(spec: LiveSymbol) -> bool:
    from qts.market.kis_overseas import is_krx_code

    provider = spec.provider.lower()
    if provider == "kis":  # KIS's real-time socket here is the KRX one; US bars are daily
        return is_krx_code(spec.symbol)
    return provider == "ccxt" and spec.exchange.lower() == "binance"


def streamed_symbols() -> list[LiveSymbol]:
    chosen = StreamSettings().stream_symbols or LiveCollectionSettings().live_symbols
    return [s for s in chosen if streams(s)]


def make_feeds(ctx: AppContext, symbols: list[LiveSymbol], **kis_options: Any) -> list[Any]:
    """One KIS WebSocket per timeframe for the KIS symbols, one Binance stream per timeframe."""
    from qts.market.binance_stream import BinanceKlineStream
    from qts.market.kis_stream import KisRealtimeStream
    from qts.services.data.providers import kis_quotations

    settings = StreamSettings()
    feeds: list[Any] = []
    for provider in ("kis", "ccxt"):
        mine = [s for s in symbols if s.provider.lower() == provider]
        for timeframe in sorted({s.timeframe for s in mine}):
            names = [s.symbol for s in mine if s.timeframe == timeframe]
            if provider == "kis":
                rest = kis_quotations(ctx.settings, clock=kis_options.get("clock", time.time))
                feeds.append(
                    KisRealtimeStream(
                        names, rest, timeframe=timeframe, ws_url=settings.kis_ws_url, **kis_options
                    )
                )
            else:
                url = settings.binance_ws_url
                stream = BinanceKlineStream(names, timeframe, base_url=url) if url else None
                feeds.append(stream or BinanceKlineStream(names, timeframe))
    return feeds


class BarStream:
    def __init__(
        self,
        ctx: AppContext,
        symbols: list[LiveSymbol],
        feeds: list[Any] | None = None,
        *,
        step_sessions: bool = True,
        provider_options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.specs = {(s.symbol, s.timeframe): s for s in symbols}
        self.feeds = feeds if feeds is not None else make_feeds(ctx, symbols)
        self.provider_options = provider_options or {}
        self.stepper: Any = None
        if step_sessions:
            from qts.services.trading.bar_steps import SessionStepper

            self.stepper = SessionStepper(ctx)
        self.stored = 0
        self.backfilled = 0
        self.gaps: dict[tuple[str, str], int] = {}  # first missing bar (ms) of a failed back-fill
        self.closed_at: dict[tuple[str, int], float] = {}  # (symbol, ts ms) -> perf_counter
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="qts-stream-store")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    # Running --------------------------------------------------------------------------------
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        tasks = [asyncio.create_task(self._consume(feed)) for feed in self.feeds]
        if self.stepper is not None:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(self.stepper.run(ready)))
            await ready.wait()
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _consume(self, feed: Any) -> None:
        try:
            await self._store_all(feed)
        except Exception:  # a feed that gives up (bad credentials) must not stop the others
            log.exception("a bar feed stopped; the market data jobs poll its symbols instead")

    async def _store_all(self, feed: Any) -> None:
        loop = asyncio.get_running_loop()
        async for bar in feed:
            self.closed_at[(bar.symbol, int(bar.ts.timestamp() * 1000))] = time.perf_counter()
            try:
                await loop.run_in_executor(self._pool, self.on_bar, bar)
            except Exception:  # a database hiccup must not end the stream
                log.exception("storing the streamed bar %s %s failed", bar.symbol, bar.ts)

    def start_thread(self) -> threading.Thread:
        def main() -> None:
            try:
                asyncio.run(self.run())
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("the bar stream stopped")
            finally:
                self._done.set()

        self._thread = threading.Thread(target=main, daemon=True, name="qts-stream")
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        async def close_all() -> None:
            for feed in self.feeds:
                await feed.aclose()
            if self.stepper is not None:
                await self.stepper.aclose()

        if self._loop is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)

    # One bar ----------------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> None:
        """Back-fill the gap before `bar`, store it, then publish it (steps follow). While a
        gap cannot be filled the bar is not stored either: the next bar's back-fill fetches it
        with the gap, so nothing after a hole is ever stored before the hole is filled."""
        from qts.market.feeds import bar_to_event
        from qts.services.data.market_data import store_bars

        spec = self.specs.get((bar.symbol, bar.timeframe))
        if spec is None:
            return
        if not self._backfill(spec, bar):
            return
        frame = pd.DataFrame(
            [[bar.open, bar.high, bar.low, bar.close, bar.volume]],
            columns=["open", "high", "low", "close", "volume"],
            index=pd.DatetimeIndex([pd.Timestamp(bar.ts)], name="ts"),
        )
        store_bars(self.ctx.db, spec.exchange, spec.symbol, spec.timeframe, frame)
        self.stored += 1
        event = bar_to_event(bar)
        event.update(exchange=spec.exchange, source="stream")
        self.ctx.bus.publish(f"bars:{bar.symbol}", event)

    def _backfill(self, spec: LiveSymbol, bar: Bar) -> bool:
        """Store the bars missing before `bar` from the provider's REST API; False (and the
        gap remembered) if that failed."""
        from qts.db.repositories.market import MarketRepository
        from qts.market.frames import timeframe_ms
        from qts.services.data.market_data import store_bars
        from qts.services.data.providers import make_provider

        key = (spec.symbol, spec.timeframe)
        step = timeframe_ms(spec.timeframe)
        bar_ms = int(bar.ts.timestamp() * 1000)
        with self.ctx.db.session() as s:
            last = MarketRepository(s).last_bar_ms(spec.exchange, spec.symbol, spec.timeframe)
        start = self.gaps.get(key, last + step if last is not None else None)
        if start is None or start >= bar_ms:
            self.gaps.pop(key, None)
            return True
        options = dict(self.provider_options.get(spec.provider, {}))
        try:
            client = make_provider(spec.provider, spec.exchange, options, self.ctx.settings)
            for page in client.fetch_pages(spec.symbol, spec.timeframe, start, bar_ms):
                page = page[(page.index.as_unit("ms").asi8 >= start) & (page.index < bar.ts)]
                store_bars(self.ctx.db, spec.exchange, spec.symbol, spec.timeframe, page)
                self.backfilled += len(page)
        except Exception as exc:
            log.warning("back-fill of %s before %s failed: %s", spec.symbol, bar.ts, exc)
            self.gaps[key] = start
            return False
        self.gaps.pop(key, None)
        return True


def run_stream(ctx: AppContext, symbols: list[LiveSymbol] | None = None) -> BarStream:
    """Build and start the stream in a thread (what `qts stream` and `qts up` do)."""
    chosen = symbols if symbols is not None else streamed_symbols()
    stream = BarStream(ctx, chosen)
    stream.start_thread()
    return stream
