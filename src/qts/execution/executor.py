"""What the order service needs from whatever executes orders (paper book or live broker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from qts.core.types import Fill, Order, OrderStatus

# The ticket moved to `qts.core.types` with the rest of the order family; this name stays while
# branches that import it from here are merged.
from qts.core.types import OrderTicket as OrderTicket


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


class OrderGateway(Protocol):
    """Where a runner sends its orders: the order service (stores, risk-checks, executes)."""

    def place(self, ticket: OrderTicket, actor: str = ...) -> dict[str, Any]: ...

    def cancel(self, client_order_id: str, actor: str) -> dict[str, Any]: ...

    def apply_report(self, report: ExecutionReport) -> dict[str, Any]: ...

    def record_exit(
        self, order: Order, account: str, strategy_id: int | None, actor: str
    ) -> dict[str, Any]: ...
