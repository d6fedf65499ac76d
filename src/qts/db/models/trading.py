"""Strategies, orders with their state transitions, fills and positions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base, utcnow


class Strategy(Base):
    __tablename__ = "strategies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    strategy_class: Mapped[str] = mapped_column(String(255))  # registry name or path:Class
    description: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    symbols: Mapped[list[Any]] = mapped_column(default=list)
    timeframe: Mapped[str] = mapped_column(String(8), default="1d")
    mode: Mapped[str] = mapped_column(String(8), default="paper")  # paper | live
    state: Mapped[str] = mapped_column(String(16), default="stopped")  # stopped|running|error
    runtime_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    broker_order_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    strategy_id: Mapped[int | None] = mapped_column(
        ForeignKey("strategies.id", ondelete="SET NULL"), default=None, index=True
    )
    account: Mapped[str] = mapped_column(String(32), default="paper", index=True)
    exchange: Mapped[str] = mapped_column(String(32), default="")
    symbol: Mapped[str] = mapped_column(String(64), index=True)
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16), default="market")
    quantity: Mapped[float] = mapped_column(Float)
    limit_price: Mapped[float | None] = mapped_column(Float, default=None)
    stop_price: Mapped[float | None] = mapped_column(Float, default=None)
    time_in_force: Mapped[str] = mapped_column(String(8), default="gtc")
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    filled_quantity: Mapped[float] = mapped_column(Float, default=0.0)
    average_fill_price: Mapped[float | None] = mapped_column(Float, default=None)
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    reject_rule: Mapped[str] = mapped_column(String(32), default="")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OrderEvent(Base):
    """Every state transition of an order, in order."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str] = mapped_column(String(20), default="")
    to_status: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Fill(Base):
    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("order_id", "fill_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    fill_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    fee: Mapped[float] = mapped_column(Float, default=0.0)
    realized_pnl: Mapped[float] = mapped_column(Float, default=0.0)
    ts: Mapped[datetime] = mapped_column(index=True)


def _position_currency(context: Any) -> str:
    from qts.execution.currency import guess_currency

    return guess_currency(str(context.get_current_parameters()["symbol"]))


class Position(Base):
    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("account", "symbol"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(32), default="paper")
    symbol: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float, default=0.0)
    average_price: Mapped[float] = mapped_column(Float, default=0.0)
    realized_pnl: Mapped[float] = mapped_column(Float, default=0.0)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    last_price: Mapped[float | None] = mapped_column(Float, default=None)
    # The currency the symbol trades in (KRW, USD, USDT ...); None on rows from before 0005.
    currency: Mapped[str | None] = mapped_column(String(8), default=_position_currency)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
