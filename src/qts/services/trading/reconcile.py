"""Reconciliation: bring qts's open orders and positions for a broker account to the broker's
truth, and report every difference; the broker's cash per currency is stored for the account's
figures. Run on start and on demand."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from qts.core.types import OrderStatus
from qts.db.models import Order as OrderRow
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.orders import PositionRepository
from qts.execution.executor import ExecutionReport
from qts.execution.live import LiveExecutor
from qts.services.trading.account_actions import adopt_live_splits
from qts.services.trading.currencies import record_broker_cash
from qts.services.trading.order_service import OrderService

log = logging.getLogger(__name__)
OPEN = [OrderStatus.NEW.value, OrderStatus.SUBMITTED.value, OrderStatus.PARTIALLY_FILLED.value]
# How long a request sent just before a crash may still reach the broker: a claim younger than
# this that the broker does not know yet is waited for, never released.
SETTLE_AFTER_S = 30.0


@dataclass
class ReconcileReport:
    account: str
    orders_checked: int = 0
    orders_updated: list[dict[str, Any]] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)  # stored `new`, unknown to the broker
    unknown_at_qts: list[str] = field(default_factory=list)  # broker's open orders qts lacks
    # `submitting` orders (claimed, outcome unknown) found at the broker / released as unsent.
    claims_found: list[str] = field(default_factory=list)
    claims_released: list[str] = field(default_factory=list)
    positions_repaired: list[dict[str, Any]] = field(default_factory=list)
    # positions the broker moved by a stored split (adopted as the broker's, not a mismatch)
    splits_adopted: list[dict[str, Any]] = field(default_factory=list)
    cash: dict[str, float] = field(default_factory=dict)  # the broker's, per currency (stored)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def reconcile(
    orders: OrderService,
    executor: LiveExecutor,
    actor: str = "system",
    settle_after_s: float = SETTLE_AFTER_S,
) -> ReconcileReport:
    account = executor.account
    report = ReconcileReport(account)
    db = orders.db
    settle_claims(orders, executor, report, settle_after_s)
    with db.session() as s:
        rows = s.execute(
            select(OrderRow.client_order_id, OrderRow.status).where(
                OrderRow.account == account, OrderRow.status.in_(OPEN)
            )
        ).all()
    known = set()
    for cid, status in rows:
        report.orders_checked += 1
        known.add(cid)
        broker_view = executor.get(cid)
        if broker_view is None:
            if status == OrderStatus.NEW.value:
                report.unsent.append(cid)
            else:  # the broker has no such order: it can never fill
                out = orders.apply_report(
                    ExecutionReport(cid, OrderStatus.REJECTED, reason="not found at the broker")
                )
                report.orders_updated.append(
                    {"client_order_id": cid, "from": status, "to": out["status"]}
                )
            continue
        out = orders.apply_report(broker_view)
        if out["status"] != status:
            report.orders_updated.append(
                {"client_order_id": cid, "from": status, "to": out["status"]}
            )
    for bo in executor.broker.open_orders():
        if bo.client_order_id not in known:
            report.unknown_at_qts.append(bo.client_order_id or bo.broker_order_id)
    broker_positions = {p.symbol: p for p in executor.broker.positions()}
    with db.session() as s:
        repo = PositionRepository(s)
        stored = {p.symbol: p for p in repo.list(account, include_flat=True)}
        for symbol in set(stored) | set(broker_positions):
            theirs = broker_positions.get(symbol)
            qty = theirs.quantity if theirs else 0.0
            mine = stored.get(symbol)
            if mine is not None and abs(mine.quantity - qty) < 1e-9:
                continue
            if mine is None:
                from qts.db.models import Position

                mine = Position(account=account, symbol=symbol)
                s.add(mine)
            held = mine.quantity or 0.0
            splits = adopt_live_splits(s, account, symbol, held, qty)
            found = {"symbol": symbol, "qts": held, "broker": qty}
            if splits:
                ratio = qty / held
                report.splits_adopted.append({**found, "ex_dates": _dates(splits)})
                mine.average_price = (mine.average_price or 0.0) / ratio
            else:
                report.positions_repaired.append(found)
            mine.quantity = qty
            if theirs is not None and theirs.average_price:
                mine.average_price = theirs.average_price
        if (
            report.orders_updated
            or report.positions_repaired
            or report.unknown_at_qts
            or report.splits_adopted
        ):
            AuditRepository(s).record(actor, "reconcile", account, report.to_dict())
    report.cash = record_broker_cash(db, account, executor.broker.balances())
    if report.positions_repaired:
        log.warning("reconcile %s repaired positions: %s", account, report.positions_repaired)
    return report


def _dates(actions: list[Any]) -> list[str]:
    return [a.ex_date.isoformat() for a in actions]


def settle_claims(
    orders: OrderService, executor: LiveExecutor, report: ReconcileReport, settle_after_s: float
) -> None:
    """Settle the account's `submitting` orders whose sender is gone: ask the broker for each
    client order id, never send it again. Known there: take the broker's state. Unknown once
    `settle_after_s` has passed since the claim (a request could still be on its way): release
    it to `new`, as never sent, for the next `place` of that id to claim and send once."""
    import time
    from datetime import UTC, datetime

    with orders.db.session() as s:
        rows = s.execute(
            select(OrderRow.client_order_id, OrderRow.meta).where(
                OrderRow.account == executor.account,
                OrderRow.status == OrderStatus.SUBMITTING.value,
            )
        ).all()
    for cid, meta in rows:
        claimed_at = datetime.fromisoformat((meta or {}).get("claim", {}).get("at", "1970-01-01"))
        if claimed_at.tzinfo is None:
            claimed_at = claimed_at.replace(tzinfo=UTC)
        while True:
            view = executor.get(cid)
            if view is not None:
                orders.apply_report(view)
                report.claims_found.append(cid)
                break
            waited = (datetime.now(UTC) - claimed_at).total_seconds()
            if waited >= settle_after_s:
                orders.release_claim(cid, "not at the broker after the claim's sender stopped")
                report.claims_released.append(cid)
                break
            time.sleep(min(0.2, settle_after_s - waited))
