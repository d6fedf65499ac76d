"""Reading orders and positions, and cancelling open orders.

Placing orders, fills and broker routing belong to the execution layer (issue 5); cancellation
here records the transition and publishes it, which is all a paper order needs.
"""

from __future__ import annotations

from typing import Any

from qts.core.errors import NotFoundError
from qts.core.types import Order as WorkingOrder
from qts.core.types import OrderStatus, OrderType, Side, TimeInForce
from qts.db import Database
from qts.db.models import Order, Position
from qts.db.repositories.orders import OrderFilter, OrderRepository, PositionRepository
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
