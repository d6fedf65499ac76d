from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from qts.core.types import OrderTicket
from qts.db.models import Fill, Order, OrderEvent, Position


@dataclass(slots=True)
class OrderFilter:
    symbol: str | None = None
    status: Sequence[str] | None = None
    side: str | None = None
    strategy_id: int | None = None
    account: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, order_id: int) -> Order | None:
        return self.s.get(Order, order_id)

    def by_client_id(self, client_order_id: str) -> Order | None:
        return self.s.scalar(select(Order).where(Order.client_order_id == client_order_id))

    @staticmethod
    def _filtered(q: Select, f: OrderFilter) -> Select:  # type: ignore[type-arg]
        if f.symbol:
            q = q.where(Order.symbol == f.symbol)
        if f.status:
            q = q.where(Order.status.in_(list(f.status)))
        if f.side:
            q = q.where(Order.side == f.side)
        if f.strategy_id is not None:
            q = q.where(Order.strategy_id == f.strategy_id)
        if f.account:
            q = q.where(Order.account == f.account)
        if f.since:
            q = q.where(Order.created_at >= f.since)
        if f.until:
            q = q.where(Order.created_at < f.until)
        return q

    def list(self, f: OrderFilter, limit: int = 50, offset: int = 0) -> Sequence[Order]:
        q = self._filtered(select(Order), f).order_by(Order.id.desc()).limit(limit).offset(offset)
        return self.s.scalars(q).all()

    def count(self, f: OrderFilter) -> int:
        return self.s.scalar(self._filtered(select(func.count()).select_from(Order), f)) or 0

    def add(self, order: Order) -> Order:
        self.s.add(order)
        self.s.flush()
        return order

    def add_new(self, ticket: OrderTicket, client_id: str, actor: str) -> Order:
        """Store a ticket as a `new` order under its client id."""
        return self.add(
            Order(
                client_order_id=client_id,
                strategy_id=ticket.strategy_id,
                account=ticket.account,
                exchange=ticket.exchange,
                symbol=ticket.symbol,
                side=ticket.side.value,
                type=ticket.type.value,
                quantity=ticket.quantity,
                limit_price=ticket.limit_price,
                stop_price=ticket.stop_price,
                time_in_force=ticket.time_in_force.value,
                status="new",
                created_by=actor,
                meta=ticket.meta,
            )
        )

    def add_event(self, order: Order, from_status: str, to_status: str, details: dict) -> None:  # type: ignore[type-arg]
        self.s.add(
            OrderEvent(
                order_id=order.id, from_status=from_status, to_status=to_status, details=details
            )
        )
        self.s.flush()

    def events(self, order_id: int) -> Sequence[OrderEvent]:
        q = select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        return self.s.scalars(q).all()

    def open_client_ids(self) -> Sequence[str]:
        """Client ids of every order not yet final (new, submitting, submitted, partly filled)."""
        open_states = ("new", "submitting", "submitted", "partially_filled")
        q = select(Order.client_order_id).where(Order.status.in_(open_states))
        return self.s.scalars(q).all()

    def realized_net_by_symbol_since(self, account: str, since: datetime) -> dict[str, float]:
        """Realized P&L minus fees of the account's fills since `since`, per symbol (each in its
        symbol's currency)."""
        q = (
            select(Fill.symbol, func.sum(Fill.realized_pnl - Fill.fee))
            .join(Order, Order.id == Fill.order_id)
            .where(Order.account == account, Fill.ts >= since)
            .group_by(Fill.symbol)
        )
        return {str(sym): float(v or 0.0) for sym, v in self.s.execute(q).all()}

    def fills(self, order_id: int) -> Sequence[Fill]:
        return self.s.scalars(select(Fill).where(Fill.order_id == order_id).order_by(Fill.id)).all()


class PositionRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def list(self, account: str | None = None, include_flat: bool = False) -> Sequence[Position]:
        q = select(Position).order_by(Position.account, Position.symbol)
        if account:
            q = q.where(Position.account == account)
        if not include_flat:
            q = q.where(Position.quantity != 0)
        return self.s.scalars(q).all()

    def get(self, account: str, symbol: str, for_update: bool = False) -> Position | None:
        """The position; `for_update` locks its row until commit (PostgreSQL), so fills applied
        by two processes at once add up instead of overwriting each other."""
        q = select(Position).where(Position.account == account, Position.symbol == symbol)
        return self.s.scalar(q.with_for_update() if for_update else q)
