"""What the order service needs from whatever executes orders (paper book or live broker)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from qts.core.errors import ValidationError
from qts.core.types import Fill, Order, OrderStatus, OrderType, Side, TimeInForce


@dataclass(slots=True)
class ExecutionReport:
    """An executor's answer about one order: its status there and any fills so far."""

    client_order_id: str
    status: OrderStatus
    broker_order_id: str | None = None
    reason: str = ""
    fills: list[Fill] = field(default_factory=list)
    # Cumulative figures, for venues that report totals rather than individual fills.
    filled_quantity: float | None = None
    average_price: float | None = None
    fee: float | None = None


class Executor(Protocol):
    account: str

    def submit(self, order: Order) -> ExecutionReport: ...

    def cancel(self, client_order_id: str) -> ExecutionReport | None: ...


@dataclass(slots=True)
class OrderTicket:
    """A request to place one order, from the API, the CLI or a strategy runner."""

    symbol: str
    side: Side
    quantity: float
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str | None = None
    strategy_id: int | None = None
    account: str = "paper"
    exchange: str = ""
    reference_price: float | None = None  # last known price, for risk checks on market orders
    meta: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.symbol:
            raise ValidationError("symbol is required")
        if not (self.quantity > 0 and math.isfinite(self.quantity)):
            raise ValidationError("quantity must be a positive number")
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and not self.limit_price:
            raise ValidationError(f"a {self.type.value} order needs a limit_price")
        if self.type in (OrderType.STOP, OrderType.STOP_LIMIT) and not self.stop_price:
            raise ValidationError(f"a {self.type.value} order needs a stop_price")
        for name in ("limit_price", "stop_price", "reference_price"):
            v = getattr(self, name)
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise ValidationError(f"{name} must be a positive number")
