"""Live execution: the order service's executor interface on top of a broker client.

Brokers report cumulative fills (total quantity, average price); the order service turns the
difference from what it has applied into fills, so the same report applied twice changes nothing.
A submission whose outcome is unknown (a timeout after sending) stays open in qts and is settled
by the next report or by reconciliation, never by sending blindly again.
"""

from __future__ import annotations

from collections.abc import Callable

from qts.core.types import Order, OrderStatus
from qts.execution.brokers.base import Broker, BrokerOrder
from qts.execution.brokers.errors import OrderNotFoundError, UnknownOutcomeError
from qts.execution.currency import guess_currency
from qts.execution.executor import ExecutionReport

# Balances counted as cash in a live account's equity (other assets are positions).
CASH_ASSETS = ("KRW", "USD", "USDT", "USDC")


def report_from(order: BrokerOrder, reason: str = "") -> ExecutionReport:
    return ExecutionReport(
        client_order_id=order.client_order_id,
        status=order.status,
        broker_order_id=order.broker_order_id or None,
        reason=reason,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        fee=order.fee,
    )


class LiveExecutor:
    def __init__(self, broker: Broker, account: str) -> None:
        self.broker = broker
        self.account = account

    def submit(self, order: Order) -> ExecutionReport:
        try:
            return report_from(self.broker.submit(order))
        except UnknownOutcomeError as e:
            return ExecutionReport(
                order.client_order_id, OrderStatus.SUBMITTED, reason=f"outcome unknown: {e.message}"
            )

    def cancel(self, client_order_id: str) -> ExecutionReport | None:
        try:
            return report_from(self.broker.cancel(client_order_id))
        except OrderNotFoundError:
            return None

    def get(self, client_order_id: str) -> ExecutionReport | None:
        try:
            return report_from(self.broker.get_order(client_order_id))
        except OrderNotFoundError:
            return None


def live_equity(
    executor: LiveExecutor,
    positions: dict[str, float],
    marks: dict[str, float],
    to_base: Callable[[float, str], float] | None = None,
    currency_of: Callable[[str], str] | None = None,
) -> float:
    """Cash balances at the broker plus positions marked at `marks`; with `to_base` (amount,
    currency -> base currency) each balance and position is converted first (a KIS account's
    USD beside its KRW), else all are taken as one currency."""
    convert = to_base or (lambda amount, _currency: amount)
    symbol_currency = currency_of or guess_currency
    cash = sum(
        convert(b.total, b.asset) for b in executor.broker.balances() if b.asset in CASH_ASSETS
    )
    return cash + sum(
        convert(q * marks.get(s, 0.0), symbol_currency(s)) for s, q in positions.items()
    )
