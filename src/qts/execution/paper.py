"""Paper trading: orders fill against live or replayed bars through the backtest's fill model.

The executor owns the same `OrderBook` and `Portfolio` the event-driven backtest uses, so the
same orders on the same bars give the same fills, sizes, prices and fees.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from qts.backtest.fills import FillModel, OrderBook
from qts.backtest.portfolio import Portfolio
from qts.core.errors import ValidationError
from qts.core.types import Bar, Order, OrderStatus
from qts.execution.executor import ExecutionReport


class PaperExecutor:
    def __init__(self, fill_model: FillModel, cash: float, account: str = "paper") -> None:
        self.account = account
        self.book = OrderBook(fill_model)
        self.portfolio = Portfolio(cash=float(cash))
        self._orders: dict[str, Order] = {}
        # Exit orders the book created during the last `on_bar` (stop-loss / take-profit of a
        # filled order): the order service does not know them until they are recorded.
        self.created: list[Order] = []
        self._lock = threading.Lock()

    def submit(self, order: Order) -> ExecutionReport:
        with self._lock:
            cid = order.client_order_id
            known = self._orders.get(cid) or next(
                (c for c in self.created if c.client_order_id == cid), None
            )
            if known is not None:  # an exit the book created, now being recorded
                return self._report(known)
            mine = Order(
                symbol=order.symbol,
                side=order.side,
                # A target order is sized when it fills, from the equity at that bar.
                quantity=0.0 if "target" in order.meta else order.quantity,
                type=order.type,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                time_in_force=order.time_in_force,
                client_order_id=order.client_order_id,
                meta=dict(order.meta),
                created_at=order.created_at,
            )
            try:
                self.book.submit(mine)
            except ValidationError as e:
                return ExecutionReport(
                    order.client_order_id, OrderStatus.REJECTED, reason=e.message
                )
            self._orders[mine.client_order_id] = mine
            return ExecutionReport(
                mine.client_order_id, OrderStatus.SUBMITTED, broker_order_id=mine.client_order_id
            )

    def cancel(self, client_order_id: str) -> ExecutionReport | None:
        with self._lock:
            order = self._orders.get(client_order_id)
            if order is None:
                return None
            if order.status is OrderStatus.SUBMITTED:
                self.book.cancel(client_order_id)
            return self._report(order)

    def on_bar(
        self,
        bars: Mapping[str, Bar],
        phase: str = "open",
        slip: Mapping[str, float] | None = None,
        marks: Mapping[str, float] | None = None,
        include_market: bool = True,
    ) -> list[ExecutionReport]:
        """Match open orders against this bar; report every order whose state changed."""
        with self._lock:
            if not self.book.orders and not self._orders:
                self.created = []  # nothing to match: a replay's quiet bars stay cheap
                return []
            before = {cid: o.status for cid, o in self._orders.items()}
            fills = self.book.process_bar(bars, self.portfolio, phase, slip, marks, include_market)
            self.created, self.book.created = list(self.book.created), []
            for child in self.created:
                self._orders[child.client_order_id] = child
            by_order: dict[str, list] = {}  # type: ignore[type-arg]
            for f in fills:
                by_order.setdefault(f.client_order_id, []).append(f)
            reports = []
            for cid, order in list(self._orders.items()):
                changed = order.status is not before.get(cid) or cid in by_order
                if not changed:
                    continue
                report = self._report(order)
                report.fills = [
                    _with_id(f, f"{cid}-{n}") for n, f in enumerate(by_order.get(cid, []))
                ]
                reports.append(report)
                if order.status.is_terminal:
                    del self._orders[cid]
            return reports

    def _report(self, order: Order) -> ExecutionReport:
        reason = ""
        if order.status is OrderStatus.CANCELLED:
            reason = "cancelled by its one-cancels-other sibling" if order.meta.get("oco") else ""
            reason = reason or "nothing to trade at the target"
        if order.status is OrderStatus.REJECTED:
            reason = "not enough cash or position for any quantity"
        return ExecutionReport(
            order.client_order_id,
            order.status,
            broker_order_id=order.client_order_id,
            reason=reason,
        )


def _with_id(fill, fill_id: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(fill, fill_id=fill_id)
