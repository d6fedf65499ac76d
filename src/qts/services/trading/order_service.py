"""The order service: every order, manual or from a strategy, paper or live, goes through here.

Order of operations, chosen so a crash at any point loses nothing and duplicates nothing:
1. the order is stored as `new` with a qts client order id (a retry with the same id returns the
   stored order instead of creating another);
2. one locked transaction checks risk against the state all processes share and claims the
   order (`new` → `submitting`, `qts.services.trading.order_claims`); a rejection is stored with
   the rule that rejected; a lost claim means another process sends it;
3. the claim's winner submits it; the broker is asked to honour the client id, and
   reconciliation settles orders whose submission outcome is unknown (`submitting` after a
   crash: asked of the broker by client order id, never sent again);
4. fills are applied once each (unique per order and fill id) to the order and the position.
Every change is published on the event bus (`orders`, `fills`, `positions`)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qts.core.errors import ConflictError, NotFoundError, QtsError, ValidationError
from qts.core.positions import apply_fill
from qts.core.types import Fill, Order, OrderStatus, OrderTicket
from qts.db import Database
from qts.db.models import Fill as FillRow
from qts.db.models import Order as OrderRow
from qts.db.models import Position as PositionRow
from qts.db.models.jobs import SystemStatus
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.orders import OrderRepository, PositionRepository
from qts.events import EventBus
from qts.execution.executor import ExecutionReport, Executor
from qts.execution.order_states import check_transition, status_after_fill
from qts.execution.risk import AccountState, RiskLimits, RiskManager
from qts.services.trading.order_claims import KILL_SWITCH_KEY, account_state, claim
from qts.services.trading.orders import (
    fill_to_reach,
    order_to_dict,
    position_to_dict,
    working_order,
)
from qts.services.trading.schemas import FillRecord

log = logging.getLogger(__name__)
__all__ = ["KILL_SWITCH_KEY", "OrderService", "new_client_order_id"]


def new_client_order_id() -> str:
    return "qts-" + uuid.uuid4().hex[:24]


class OrderService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        executors: dict[str, Executor],
        risk: RiskManager | None = None,
        notify: Callable[[str, dict[str, Any]], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.executors = executors
        self.risk = risk or RiskManager(RiskLimits())
        self.notify = notify or (lambda kind, data: None)
        self.clock = clock or (lambda: datetime.now(UTC))
        # One order at a time per service: risk checks read state that the previous order changes.
        self._lock = threading.RLock()

    # Kill switch -------------------------------------------------------------------------------
    def kill_switch_on(self) -> bool:
        with self.db.session() as s:
            row = s.get(SystemStatus, KILL_SWITCH_KEY)
            return bool(row and row.value.get("on"))

    def set_kill_switch(self, on: bool, actor: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(SystemStatus, KILL_SWITCH_KEY)
            value = {"on": on, "by": actor, "at": self.clock().isoformat()}
            if row is None:
                s.add(SystemStatus(key=KILL_SWITCH_KEY, value=value))
            else:
                row.value = value
            AuditRepository(s).record(actor, "kill_switch.on" if on else "kill_switch.off")
        cancelled = self.cancel_all_open(actor) if on else []
        event = {**value, "cancelled_orders": len(cancelled)}
        self._publish("system", {"type": "kill_switch", **event})
        self._notify("kill_switch", event)
        return event

    # Placing -----------------------------------------------------------------------------------
    def place(self, req: OrderTicket, actor: str = "system") -> dict[str, Any]:
        req.validate()
        if req.account not in self.executors:
            raise ValidationError(f"no executor for account {req.account!r}")
        with self._lock:
            client_id = req.client_order_id or new_client_order_id()
            existing = self.find(client_id)
            if existing is not None and existing["status"] != OrderStatus.NEW.value:
                return existing  # idempotent retry, or claimed by another process
            # A stored `new` order was never claimed (a crash before the claim): carry on.
            row_id = existing["id"] if existing else self._insert_new(req, client_id, actor)
            executor = self.executors[req.account]
            price = (
                req.limit_price
                or req.reference_price
                or self._last_price(req.account, req.symbol)
                # An executor that knows a price (the paper desk: the latest stored close).
                or getattr(executor, "reference_price", lambda _symbol: None)(req.symbol)
            )
            result = claim(self.db, self.risk, row_id, price or 0.0, self.clock())
            self._publish("orders", result.order)
            if result.decision is not None:
                self._notify("order_rejected", result.order)
            if not result.claimed:
                return result.order
            # Only the claim's winner gets here: the one submission of this client order id.
            # An executor that fills at once from the stored account (the paper desk) reads and
            # writes that account in one locked transaction, so two servers cannot both sell
            # the same shares.
            at_once = getattr(executor, "fills_at_once", False)
            with self.db.transaction(lock=f"account:{req.account}") if at_once else nullcontext():
                order = self.domain_order(row_id)
                try:
                    report = executor.submit(order)
                except QtsError as e:
                    out = self._transition(
                        row_id, OrderStatus.REJECTED, {"error": e.code}, reject=(e.code, e.message)
                    )
                    self._notify("order_rejected", out)
                    return out
                out = self.apply_report(report)
            if out["status"] != OrderStatus.REJECTED.value:
                self._notify("order_submitted", out)
            return out

    def release_claim(self, client_order_id: str, reason: str) -> dict[str, Any]:
        """`submitting` → `new`: the broker confirmed it never got the order (reconciliation)."""
        with self._lock:
            return self._transition(
                self._find_row_id(client_order_id), OrderStatus.NEW, {"reason": reason}
            )

    def record_exit(
        self, order: Order, account: str, strategy_id: int | None, actor: str
    ) -> dict[str, Any]:
        """Store an exit the executor created on a fill (a stop-loss / take-profit of a
        bracket) as submitted. No risk check: it only closes what its parent opened."""
        with self._lock:
            existing = self.find(order.client_order_id)
            if existing is not None:
                return existing
            ticket = OrderTicket(
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                type=order.type,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                client_order_id=order.client_order_id,
                strategy_id=strategy_id,
                account=account,
                meta={**order.meta, "tag": order.tag},
            )
            row_id = self._insert_new(ticket, order.client_order_id, actor)
            return self._transition(row_id, OrderStatus.SUBMITTED, {"by": actor, "exit": True})

    def apply_report(self, report: ExecutionReport) -> dict[str, Any]:
        """Bring the stored order up to an executor's report (submit answer, update, reconcile)."""
        with self._lock:
            current = self.find(report.client_order_id)
            if current is None:
                raise NotFoundError(f"order {report.client_order_id} not found")
            row = int(current["id"])
            for fill in report.fills:
                self.apply_fill(fill)
            if report.filled_quantity is not None:
                self._apply_cumulative(report)
            if report.fills or report.filled_quantity is not None:
                current = self.find(report.client_order_id) or current
            target = report.status
            status = OrderStatus(current["status"])
            broker_id = report.broker_order_id if not current["broker_order_id"] else None
            # Fill-driven statuses are set by apply_fill; others come from the executor.
            fill_driven = target in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)
            if target != status and not status.is_terminal and not fill_driven:
                reject = ("broker", report.reason) if target is OrderStatus.REJECTED else None
                out = self._transition(
                    row, target, {"reason": report.reason}, reject=reject, broker_order_id=broker_id
                )
                if target is OrderStatus.REJECTED:
                    self._notify("order_rejected", out)
                return out
            if broker_id:
                with self.db.session() as s:
                    o = s.get(OrderRow, row)
                    assert o is not None
                    o.broker_order_id = broker_id
                    s.flush()
                    current = order_to_dict(o)
            return current

    # Fills -------------------------------------------------------------------------------------
    def apply_fill(self, fill: Fill) -> bool:
        """Apply a fill once; returns False when this fill was already applied."""
        # A second try when the first lost a race to create the position row (another process).
        return self._apply_fill(fill) or self._apply_fill(fill)

    def _apply_fill(self, fill: Fill) -> bool:
        with self._lock:
            try:
                with self.db.session() as s:
                    o = s.scalar(
                        select(OrderRow).where(OrderRow.client_order_id == fill.client_order_id)
                    )
                    if o is None:
                        raise NotFoundError(f"no order {fill.client_order_id}")
                    pos = PositionRepository(s).get(o.account, o.symbol, for_update=True)
                    if pos is None:
                        pos = PositionRow(account=o.account, symbol=o.symbol)
                        s.add(pos)
                        s.flush()
                    change = apply_fill(
                        pos.quantity or 0.0,
                        pos.average_price or 0.0,
                        fill.side,
                        fill.quantity,
                        fill.price,
                    )
                    fill_row = FillRow(
                        order_id=o.id,
                        fill_id=fill.fill_id or f"{fill.client_order_id}-{o.filled_quantity}",
                        symbol=o.symbol,
                        side=fill.side.value,
                        quantity=fill.quantity,
                        price=fill.price,
                        fee=fill.fee,
                        realized_pnl=change.realized_pnl,
                        ts=fill.ts,
                    )
                    s.add(fill_row)
                    s.flush()  # raises IntegrityError on a duplicate fill id
                    pos.quantity, pos.average_price = change.quantity, change.average_price
                    pos.realized_pnl = (pos.realized_pnl or 0.0) + change.realized_pnl
                    pos.fees = (pos.fees or 0.0) + fill.fee
                    pos.last_price = fill.price
                    prev_filled = o.filled_quantity
                    o.filled_quantity = prev_filled + fill.quantity
                    o.average_fill_price = (
                        (o.average_fill_price or 0.0) * prev_filled + fill.price * fill.quantity
                    ) / o.filled_quantity
                    if o.meta.get("sized_at_fill"):
                        # Target orders are sized by the fill model when they fill.
                        o.quantity, o.side = o.filled_quantity, fill.side.value
                    previous = o.status
                    new_status = status_after_fill(o.quantity, o.filled_quantity)
                    check_transition(previous, new_status)
                    o.status = new_status.value
                    OrderRepository(s).add_event(
                        o,
                        previous,
                        o.status,
                        {"fill_qty": fill.quantity, "price": fill.price, "fee": fill.fee},
                    )
                    order_out, pos_out = order_to_dict(o), position_to_dict(pos)
                    fill_out = {
                        **FillRecord.from_row(fill_row).model_dump(),
                        "order_id": o.id,
                        "client_order_id": o.client_order_id,
                        "account": o.account,
                        "strategy_id": o.strategy_id,
                        "realized_pnl": change.realized_pnl,
                    }
            except IntegrityError:
                return False
        self._publish("fills", fill_out)
        self._publish("orders", order_out)
        self._publish("positions", pos_out)
        self._notify(
            "order_filled", {**order_out, "fill_price": fill.price, "fill_qty": fill.quantity}
        )
        return True

    def _apply_cumulative(self, report: ExecutionReport) -> None:
        """Turn a venue's cumulative totals into the one fill that brings qts up to them."""
        fill = fill_to_reach(self.db, report, self.clock())
        if fill is not None:
            self.apply_fill(fill)

    # Cancelling --------------------------------------------------------------------------------
    def cancel(self, client_order_id: str, actor: str) -> dict[str, Any]:
        with self._lock:
            current = self.find(client_order_id)
            if current is None:
                raise NotFoundError(f"order {client_order_id} not found")
            if OrderStatus(current["status"]).is_terminal:
                raise ConflictError(f"order is already {current['status']}")
            if current["status"] == OrderStatus.SUBMITTING.value:
                # Being sent right now (or its sender crashed): the broker's answer or the
                # reconciliation settles it first; cancelling blind could miss it there.
                raise ConflictError("order is being submitted; cancel it once it is answered")
            executor = self.executors.get(current["account"])
            if executor is not None and current["status"] != OrderStatus.NEW.value:
                report = executor.cancel(client_order_id)
                if report is not None and report.status is not OrderStatus.CANCELLED:
                    return self.apply_report(report)  # it filled before the cancel arrived
            return self._transition(current["id"], OrderStatus.CANCELLED, {"by": actor})

    def cancel_all_open(self, actor: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            ids = OrderRepository(s).open_client_ids()
        out = []
        for cid in ids:
            try:
                out.append(self.cancel(cid, actor))
            except (ConflictError, QtsError) as e:
                log.warning("could not cancel %s: %s", cid, e.message)
        return out

    # State -------------------------------------------------------------------------------------
    def account_state(self, account: str) -> AccountState:
        """Positions, working orders and the kill switch of `account`, as stored."""
        with self.db.session() as s:
            return account_state(s, account, self.clock(), count_rate=False)

    # Internals ---------------------------------------------------------------------------------
    def _insert_new(self, req: OrderTicket, client_id: str, actor: str) -> int:
        try:
            with self.db.session() as s:
                o = OrderRepository(s).add_new(req, client_id, actor)
                OrderRepository(s).add_event(o, "", OrderStatus.NEW.value, {"by": actor})
                out = order_to_dict(o)
        except IntegrityError:  # a concurrent retry (maybe in another process) stored it first
            found = self.find(client_id)
            if found is None:
                raise
            return int(found["id"])
        self._publish("orders", out)
        return int(out["id"])

    def _transition(
        self,
        order_id: int,
        status: OrderStatus,
        details: dict[str, Any],
        reject: tuple[str, str] | None = None,
        broker_order_id: str | None = None,
    ) -> dict[str, Any]:
        with self.db.session() as s:
            o = s.get(OrderRow, order_id)
            assert o is not None
            previous = o.status
            check_transition(previous, status)
            o.status = status.value
            if broker_order_id:
                o.broker_order_id = broker_order_id
            if reject is not None:
                o.reject_rule, o.reject_reason = reject[0][:32], reject[1]
            OrderRepository(s).add_event(o, previous, status.value, details)
            s.flush()
            out = order_to_dict(o)
        self._publish("orders", out)
        return out

    def _publish(self, topic: str, data: dict[str, Any]) -> None:
        """Publish once the change is committed (a bar step's transaction may roll back)."""
        self.db.after_commit(lambda: self.bus.publish(topic, data))

    def _notify(self, kind: str, data: dict[str, Any]) -> None:
        self.db.after_commit(lambda: self.notify(kind, data))

    def find(self, client_order_id: str) -> dict[str, Any] | None:
        with self.db.session() as s:
            o = OrderRepository(s).by_client_id(client_order_id)
            return order_to_dict(o) if o else None

    def _find_row_id(self, client_order_id: str) -> int:
        found = self.find(client_order_id)
        if found is None:
            raise NotFoundError(f"order {client_order_id} not found")
        return int(found["id"])

    def domain_order(self, order_id: int) -> Order:
        with self.db.session() as s:
            o = s.get(OrderRow, order_id)
            assert o is not None
            return working_order(o)

    def _last_price(self, account: str, symbol: str) -> float | None:
        with self.db.session() as s:
            pos = PositionRepository(s).get(account, symbol)
            return pos.last_price if pos is not None else None
