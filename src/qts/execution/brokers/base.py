"""The one Broker interface every live broker implements, and its broker-neutral values.

The interface is synchronous (the order service runs it in worker threads): each client owns
an `httpx.Client` (or ccxt's session), a shared `TokenBucket` and a `RetryPolicy`, and is safe
to call from several threads. Every order is addressed by the qts `client_order_id`:

- `submit(order)` is idempotent by `order.client_order_id`: calling it again after a timeout,
  an error or a crash never creates a second order at the broker (Binance through its own
  `newClientOrderId`; KIS and Kiwoom, which have no such field, through an `OrderIdStore`
  journal and a look-up of today's orders before re-sending).
- `cancel`, `get_order` take the client order id and return the broker's current view.
- `order_updates()` is a polling iterator of `BrokerOrder` snapshots whose status or filled
  quantity changed; `poll_updates()` is one step of it for callers with their own loop.

Errors are `qts.execution.brokers.errors.*` (all `QtsError`s); only `UnknownOutcomeError`
means "the order may exist": the caller should call `submit` again with the same id (which
looks it up first) or `get_order`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qts.core.errors import ValidationError
from qts.core.types import Order, OrderStatus, OrderType, Side

CLIENT_ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


@dataclass(frozen=True)
class BrokerOrder:
    """A broker's view of one order, mapped to qts vocabulary."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: Side
    quantity: float
    status: OrderStatus
    filled_quantity: float = 0.0
    average_price: float | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    fee: float = 0.0
    fee_asset: str = ""
    updated_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def remaining_quantity(self) -> float:
        return max(self.quantity - self.filled_quantity, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True)
class Balance:
    """Cash or coin balance: `free` can be used now, `locked` is held by open orders."""

    asset: str
    free: float
    locked: float = 0.0

    @property
    def total(self) -> float:
        return self.free + self.locked


@dataclass(frozen=True)
class BrokerPosition:
    """A holding at the broker; `average_price` is None where the broker does not report it."""

    symbol: str
    quantity: float
    average_price: float | None = None
    market_price: float | None = None


def status_from_fill(
    quantity: float, filled: float, *, cancelled: bool = False, rejected: bool = False
) -> OrderStatus:
    """The qts status of an order from its quantities (for brokers that report no status)."""
    if rejected:
        return OrderStatus.REJECTED
    if filled >= quantity - 1e-12 and quantity > 0:
        return OrderStatus.FILLED
    if cancelled:
        return OrderStatus.CANCELLED
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.SUBMITTED


def validate_order(order: Order, *, whole_shares: bool = False) -> None:
    """Reject an impossible order before anything is sent."""
    if not CLIENT_ORDER_ID_PATTERN.match(order.client_order_id or ""):
        raise ValidationError(
            "client_order_id must be 1-36 characters of letters, digits, '-' or '_'",
            details={"client_order_id": order.client_order_id},
        )
    if not order.symbol:
        raise ValidationError("order symbol is empty")
    if not (order.quantity > 0 and math.isfinite(order.quantity)):
        raise ValidationError(f"order quantity must be positive, got {order.quantity}")
    if whole_shares and order.quantity != int(order.quantity):
        raise ValidationError(f"stock orders need whole shares, got {order.quantity}")
    if order.type is OrderType.LIMIT and not (order.limit_price and order.limit_price > 0):
        raise ValidationError("a limit order needs a positive limit_price")
    if order.type in (OrderType.STOP, OrderType.STOP_LIMIT):
        raise ValidationError(f"{order.type.value} orders are not supported by broker clients")


class Broker(ABC):
    """Submit, cancel and inspect orders, balances and positions at one broker account."""

    name: str = "broker"

    def __init__(self) -> None:
        self._tracked: dict[str, tuple[OrderStatus, float]] = {}
        self._tracked_lock = threading.Lock()

    # The interface ---------------------------------------------------------------------------
    @abstractmethod
    def submit(self, order: Order) -> BrokerOrder:
        """Place `order` (idempotent by `order.client_order_id`)."""

    @abstractmethod
    def cancel(self, client_order_id: str) -> BrokerOrder:
        """Cancel the rest of an open order; a finished order is returned unchanged."""

    @abstractmethod
    def get_order(self, client_order_id: str) -> BrokerOrder:
        """The broker's current view; `OrderNotFoundError` if the broker has no such order."""

    @abstractmethod
    def open_orders(self, symbol: str | None = None) -> list[BrokerOrder]:
        """Orders still working at the broker (all symbols unless one is given)."""

    @abstractmethod
    def balances(self) -> list[Balance]:
        """Cash / coin balances of the account."""

    @abstractmethod
    def positions(self) -> list[BrokerPosition]:
        """Holdings of the account (spot: non-zero coin balances)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release network resources."""

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Order updates ---------------------------------------------------------------------------
    def track(self, order: BrokerOrder) -> None:
        """Follow `order` in `poll_updates` until it is terminal (submit does this itself)."""
        with self._tracked_lock:
            if order.is_open:
                self._tracked[order.client_order_id] = (order.status, order.filled_quantity)
            else:
                self._tracked.pop(order.client_order_id, None)

    def poll_updates(self) -> list[BrokerOrder]:
        """One polling step: the tracked orders whose status or filled quantity changed."""
        with self._tracked_lock:
            tracked = dict(self._tracked)
        changed: list[BrokerOrder] = []
        for client_order_id, (status, filled) in tracked.items():
            current = self.get_order(client_order_id)
            if current.status != status or current.filled_quantity != filled:
                changed.append(current)
            self.track(current)
        return changed

    def order_updates(
        self, *, poll_interval_s: float = 1.0, stop: threading.Event | None = None
    ) -> Iterator[BrokerOrder]:
        """Yield order changes as they are seen, polling every `poll_interval_s`, until `stop`."""
        stop = stop or threading.Event()
        while not stop.is_set():
            started = time.monotonic()
            yield from self.poll_updates()
            stop.wait(max(0.0, poll_interval_s - (time.monotonic() - started)))
