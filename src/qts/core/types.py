"""Bars, orders, fills, positions and signals: plain values with no behaviour that needs I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(enum.StrEnum):
    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(enum.StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_open(self) -> bool:
        return not self.is_terminal


TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; `ts` is the bar's open time in UTC."""

    symbol: str
    timeframe: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    exchange: str = ""


@dataclass(slots=True)
class Order:
    symbol: str
    side: Side
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str = ""
    status: OrderStatus = OrderStatus.NEW
    filled_quantity: float = 0.0
    average_fill_price: float | None = None
    created_at: datetime | None = None
    tag: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining_quantity(self) -> float:
        return max(self.quantity - self.filled_quantity, 0.0)


@dataclass(frozen=True, slots=True)
class Fill:
    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    ts: datetime
    fill_id: str = ""


@dataclass(slots=True)
class Position:
    """A signed position: quantity > 0 is long, < 0 is short."""

    symbol: str
    quantity: float = 0.0
    average_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0

    def unrealized_pnl(self, mark_price: float) -> float:
        return (mark_price - self.average_price) * self.quantity


@dataclass(frozen=True, slots=True)
class Signal:
    """A target position as a signed fraction of equity for one symbol at one time."""

    symbol: str
    ts: datetime
    target: float
    strategy: str = ""
    confidence: float | None = None
