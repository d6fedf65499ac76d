"""The one interface every bar source that runs "live" offers: an async iterator of closed bars.

The replay feed (stored bars played back) and the Binance kline stream both satisfy `BarFeed`,
so a strategy runner or the event-bus publisher cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from qts.core.types import Bar


@runtime_checkable
class BarFeed(Protocol):
    def __aiter__(self) -> AsyncIterator[Bar]: ...

    async def aclose(self) -> None: ...


def bar_to_event(bar: Bar) -> dict[str, Any]:
    """The `bars:<symbol>` event payload: plain JSON types only."""
    return {
        "symbol": bar.symbol,
        "exchange": bar.exchange,
        "timeframe": bar.timeframe,
        "ts": bar.ts.isoformat(),
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
    }


def make_bar(
    symbol: str, timeframe: str, ts: datetime, ohlcv: tuple[float, ...], exchange: str = ""
) -> Bar:
    o, h, low, c, v = (float(x) for x in ohlcv)
    return Bar(symbol, timeframe, ts, o, h, low, c, v, exchange)


@dataclass(frozen=True)
class Quote:
    """An order book snapshot (KIS H0STASP0, Kiwoom ka10004): (price, quantity) pairs per
    level, best first."""

    symbol: str
    time: str  # HHMMSS, the exchange's local time
    asks: tuple[tuple[float, float], ...]
    bids: tuple[tuple[float, float], ...]
    total_ask_quantity: float
    total_bid_quantity: float

    @property
    def best_bid(self) -> float:
        return self.bids[0][0]

    @property
    def best_ask(self) -> float:
        return self.asks[0][0]
