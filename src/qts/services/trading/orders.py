"""Reading orders and positions, and cancelling open orders.

Placing orders, fills and broker routing belong to the execution layer (issue 5); cancellation
here records the transition and publishes it, which is all a paper order needs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qts.core.errors import NotFoundError
from qts.core.types import Fill, OrderStatus, OrderType, Side, TimeInForce
from qts.core.types import Order as WorkingOrder
from qts.db import Database
from qts.db.models import Order, Position
from qts.db.repositories.orders import OrderFilter, OrderRepository, PositionRepository
from qts.execution.executor import ExecutionReport
from qts.services.schemas import Page
from qts.services.trading.schemas import (
    FillRecord,
    OrderDetail,
    OrderEventRecord,
    OrderRecord,
    PositionRecord,
)


def order_to_dict(o: Order) -> dict[str, Any]:
    """The stored order as the dict the order service returns and publishes."""
    return OrderRecord.from_row(o).model_dump()


def working_order(o: Order) -> WorkingOrder:
    """The stored order as the working order an executor takes (`qts.core.types.Order`)."""
    return WorkingOrder(
        symbol=o.symbol,
        side=Side(o.side),
        quantity=o.quantity,
        type=OrderType(o.type),
        limit_price=o.limit_price,
        stop_price=o.stop_price,
        time_in_force=TimeInForce(o.time_in_force),
        client_order_id=o.client_order_id,
        status=OrderStatus(o.status),
        created_at=o.created_at,
        meta=dict(o.meta),
    )


def position_to_dict(p: Position) -> dict[str, Any]:
    return PositionRecord.from_row(p).model_dump()


def list_orders(db: Database, f: OrderFilter, limit: int, offset: int) -> Page[OrderRecord]:
    with db.session() as s:
        repo = OrderRepository(s)
        items = [OrderRecord.from_row(o) for o in repo.list(f, limit, offset)]
        return Page(items=items, total=repo.count(f), limit=limit, offset=offset)


def get_order(db: Database, order_id: int) -> OrderDetail:
    with db.session() as s:
        repo = OrderRepository(s)
        o = repo.get(order_id)
        if o is None:
            raise NotFoundError(f"order {order_id} not found")
        return OrderDetail(
            **OrderRecord.from_row(o).model_dump(),
            events=[OrderEventRecord.from_row(e) for e in repo.events(o.id)],
            fills=[FillRecord.from_row(f) for f in repo.fills(o.id)],
        )


def list_positions(db: Database, account: str | None, include_flat: bool) -> list[PositionRecord]:
    with db.session() as s:
        return [
            PositionRecord.from_row(p) for p in PositionRepository(s).list(account, include_flat)
        ]


def open_order_ids(
    db: Database, account: str, strategy_id: int, symbol: str | None = None
) -> list[int]:
    """Ids of a strategy's working orders (being sent, sent, partly filled), oldest first."""
    from sqlalchemy import select

    query = select(Order.id).where(
        Order.account == account,
        Order.strategy_id == strategy_id,
        Order.status.in_(["submitting", "submitted", "partially_filled"]),
    )
    if symbol is not None:
        query = query.where(Order.symbol == symbol)
    with db.session() as s:
        return list(s.scalars(query.order_by(Order.id)))


def fill_to_reach(db: Database, report: ExecutionReport, now: datetime) -> Fill | None:
    """The one fill that brings the stored order up to a venue's cumulative totals (None when
    it is there already)."""
    from sqlalchemy import func, select

    from qts.db.models import Fill as FillRow

    with db.session() as s:
        o = s.scalar(select(Order).where(Order.client_order_id == report.client_order_id))
        assert o is not None
        done_qty, done_avg = o.filled_quantity, o.average_fill_price or 0.0
        fees = select(func.coalesce(func.sum(FillRow.fee), 0.0)).where(FillRow.order_id == o.id)
        done_fee = s.scalar(fees) or 0.0
        side = Side(o.side)
    total = report.filled_quantity or 0.0
    delta = total - done_qty
    if delta <= 1e-12 or report.average_price is None:
        return None
    price = (report.average_price * total - done_avg * done_qty) / delta
    fee = max((report.fee or 0.0) - done_fee, 0.0)
    fill_id = f"{report.client_order_id}-cum-{total:.10g}"
    return Fill(report.client_order_id, "", side, delta, price, fee, now, fill_id=fill_id)
