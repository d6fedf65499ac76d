"""Bars, orders, fills, positions and signals: plain values with no behaviour that needs I/O."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qts.core.errors import ValidationError


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
    # Claimed by one process for sending (compare-and-set on the stored row): sent at most once.
    SUBMITTING = "submitting"
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


# Orders -------------------------------------------------------------------------------------
# One family, one class per stage, sharing `OrderSpec` (what to trade, checked one way):
#   OrderIntent  the strategy's intent: what an `OrderStrategy` submits (`ctx.submit`), in any
#                engine; no account, no client id; may carry a stop-loss / take-profit bracket.
#   OrderTicket  the ticket to place: what the order service receives (from the API, the CLI or
#                a strategy runner) with the account, the strategy, an idempotency key and the
#                price risk checks use.
#   Order        the working order: as a venue holds it (the backtest/paper order book or a
#                broker) with its client id, status and fills; the order service stores it (the
#                `orders` table) and rebuilds it from there to send it.


# Sanity bounds for any order, with or without risk limits: outside them a number is a typo, an
# overflow or an attack (1e308 shares, a 5e-324 denormal), never a trade. 1e-10 is below any
# venue's quantity step (satoshi 1e-8); 1e12 above any listed price or share count.
MIN_QUANTITY = 1e-10
MAX_QUANTITY = 1e12
MIN_PRICE = 1e-10
MAX_PRICE = 1e12
MAX_NOTIONAL = 1e15


def _check_positive(
    name: str, value: float | None, low: float = MIN_PRICE, high: float = MAX_PRICE
) -> None:
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise ValidationError(
            f"{name} must be a number between {low:g} and {high:g}", {"field": name}
        )


@dataclass(slots=True)
class OrderSpec:
    """What to trade: the fields every stage of an order shares."""

    symbol: str
    side: Side
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None

    def check_spec(self) -> None:
        """A clear ValidationError for an order no venue could take."""
        if not self.symbol:
            raise ValidationError("symbol is required")
        _check_positive("quantity", self.quantity, MIN_QUANTITY, MAX_QUANTITY)
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not self.limit_price:
            raise ValidationError(f"a {self.type.value} order needs a limit_price")
        if self.type in (OrderType.STOP, OrderType.STOP_LIMIT) and not self.stop_price:
            raise ValidationError(f"a {self.type.value} order needs a stop_price")
        _check_positive("limit_price", self.limit_price)
        _check_positive("stop_price", self.stop_price)
        price = self.limit_price or self.stop_price
        if price is not None and self.quantity * price > MAX_NOTIONAL:
            raise ValidationError(f"order notional above {MAX_NOTIONAL:g}", {"field": "quantity"})


@dataclass(slots=True)
class OrderIntent(OrderSpec):
    """Stage 1, the strategy's intent. Prices are absolute; quantity in units (> 0).

    `stop_loss`/`take_profit` attach a one-cancels-other exit to the position opened by this
    order once it fills.
    """

    stop_loss: float | None = None
    take_profit: float | None = None
    tag: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_order(self, created_at: datetime | None = None) -> Order:
        """The working order a venue holds for this intent (the bracket travels in `meta`)."""
        meta = dict(self.meta)
        if self.stop_loss is not None:
            meta["stop_loss"] = self.stop_loss
        if self.take_profit is not None:
            meta["take_profit"] = self.take_profit
        return Order(
            symbol=self.symbol,
            side=Side(self.side),
            quantity=self.quantity,
            type=OrderType(self.type),
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            tag=self.tag,
            meta=meta,
            created_at=created_at,
        )


@dataclass(slots=True)
class OrderTicket(OrderSpec):
    """Stage 2, the ticket to place one order through the order service."""

    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str | None = None  # None: the order service makes one
    strategy_id: int | None = None
    account: str = "paper"
    exchange: str = ""
    reference_price: float | None = None  # last known price, for risk checks on market orders
    meta: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        self.check_spec()
        _check_positive("reference_price", self.reference_price)
        price = self.reference_price
        if price is not None and self.quantity * price > MAX_NOTIONAL:
            raise ValidationError(f"order notional above {MAX_NOTIONAL:g}", {"field": "quantity"})


@dataclass(slots=True)
class Order(OrderSpec):
    """Stage 3, the working order at a venue, with its client id and fill state."""

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
