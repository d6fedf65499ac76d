"""What the dashboard shows over time: account equity snapshots and optimisation runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base, utcnow


class AccountSnapshot(Base):
    """An account's equity and P&L at one time (written by the `account_snapshots` job when
    a figure changed). `cash` and `equity` are None where qts does not know the cash (a live
    account, whose cash sits at the broker)."""

    __tablename__ = "account_snapshots"
    __table_args__ = (Index("ix_account_snapshots_account_ts", "account", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    cash: Mapped[float | None] = mapped_column(Float, default=None)
    positions_value: Mapped[float] = mapped_column(Float, default=0.0)
    equity: Mapped[float | None] = mapped_column(Float, default=None)
    realized_pnl: Mapped[float] = mapped_column(Float, default=0.0)
    unrealized_pnl: Mapped[float] = mapped_column(Float, default=0.0)
    fees: Mapped[float] = mapped_column(Float, default=0.0)
    open_positions: Mapped[int] = mapped_column(Integer, default=0)


class OptimizationRun(Base):
    """A parameter search started from the API: request, progress and result."""

    __tablename__ = "optimization_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    strategy: Mapped[str] = mapped_column(String(255))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trials_done: Mapped[int] = mapped_column(Integer, default=0)
    trials_total: Mapped[int | None] = mapped_column(Integer, default=None)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
