"""Reading orders and positions, and cancelling open orders.

Placing orders, fills and broker routing belong to the execution layer (issue 5); cancellation
here records the transition and publishes it, which is all a paper order needs.
"""

from __future__ import annotations

from typing import Any

from qts.core.errors import NotFoundError
from qts.db import Database
from qts.db.models import Fill, Order, OrderEvent, Position
from qts.db.repositories.orders import OrderFilter, OrderRepository, PositionRepository


def order_to_dict(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "client_order_id": o.client_order_id,
        "broker_order_id": o.broker_order_id,
        "strategy_id": o.strategy_id,
        "account": o.account,
        "exchange": o.exchange,
        "symbol": o.symbol,
        "side": o.side,
        "type": o.type,
        "quantity": o.quantity,
        "limit_price": o.limit_price,
        "stop_price": o.stop_price,
        "time_in_force": o.time_in_force,
        "status": o.status,
        "filled_quantity": o.filled_quantity,
        "average_fill_price": o.average_fill_price,
        "reject_reason": o.reject_reason,
        "reject_rule": o.reject_rule,
        "meta": o.meta,
        "created_at": o.created_at.isoformat(),
        "updated_at": o.updated_at.isoformat(),
    }


def event_to_dict(e: OrderEvent) -> dict[str, Any]:
    return {
        "ts": e.ts.isoformat(),
        "from_status": e.from_status,
        "to_status": e.to_status,
        "details": e.details,
    }


def fill_to_dict(f: Fill) -> dict[str, Any]:
    return {
        "fill_id": f.fill_id,
        "symbol": f.symbol,
        "side": f.side,
        "quantity": f.quantity,
        "price": f.price,
        "fee": f.fee,
        "ts": f.ts.isoformat(),
    }


def position_to_dict(p: Position) -> dict[str, Any]:
    unrealized = (p.last_price - p.average_price) * p.quantity if p.last_price is not None else None
    return {
        "account": p.account,
        "symbol": p.symbol,
        "quantity": p.quantity,
        "average_price": p.average_price,
        "last_price": p.last_price,
        "unrealized_pnl": unrealized,
        "realized_pnl": p.realized_pnl,
        "fees": p.fees,
        "updated_at": p.updated_at.isoformat(),
    }


def list_orders(db: Database, f: OrderFilter, limit: int, offset: int) -> dict[str, Any]:
    with db.session() as s:
        repo = OrderRepository(s)
        items = [order_to_dict(o) for o in repo.list(f, limit, offset)]
        return {"items": items, "total": repo.count(f), "limit": limit, "offset": offset}


def get_order(db: Database, order_id: int) -> dict[str, Any]:
    with db.session() as s:
        repo = OrderRepository(s)
        o = repo.get(order_id)
        if o is None:
            raise NotFoundError(f"order {order_id} not found")
        out = order_to_dict(o)
        out["events"] = [event_to_dict(e) for e in repo.events(o.id)]
        out["fills"] = [fill_to_dict(f) for f in repo.fills(o.id)]
        return out


def list_positions(db: Database, account: str | None, include_flat: bool) -> list[dict[str, Any]]:
    with db.session() as s:
        return [position_to_dict(p) for p in PositionRepository(s).list(account, include_flat)]


def open_order_ids(
    db: Database, account: str, strategy_id: int, symbol: str | None = None
) -> list[int]:
    """Ids of a strategy's submitted or partly filled orders on `account`, oldest first."""
    from sqlalchemy import select

    query = select(Order.id).where(
        Order.account == account,
        Order.strategy_id == strategy_id,
        Order.status.in_(["submitted", "partially_filled"]),
    )
    if symbol is not None:
        query = query.where(Order.symbol == symbol)
    with db.session() as s:
        return list(s.scalars(query.order_by(Order.id)))
