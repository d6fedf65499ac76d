"""Corporate actions stored beside the raw bars: splits and cash dividends by ex-date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base, utcnow


class CorporateActionRow(Base):
    """One split (`ratio` new shares per old) or cash dividend (`amount` per share) of a symbol,
    effective from the first bar dated on/after `ex_date`; `known_at` is when qts learned it."""

    __tablename__ = "corporate_actions"

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    ex_date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # split | dividend
    ratio: Mapped[float] = mapped_column(Float, default=1.0)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(64), default="")
    known_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountAction(Base):
    """A corporate action applied once to an account's position (paper accounts; a live
    account's split adopted from the broker): the held `quantity` before it and the `cash` it
    paid in the symbol's currency (quantity x amount for a dividend, negative when short; 0 for
    a split). The unique key keeps it applied once, whichever process gets there."""

    __tablename__ = "account_actions"
    __table_args__ = (UniqueConstraint("account", "symbol", "ex_date", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    ex_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # split | dividend
    ratio: Mapped[float] = mapped_column(Float, default=1.0)
    amount: Mapped[float] = mapped_column(Float, default=0.0)
    quantity: Mapped[float] = mapped_column(Float, default=0.0)
    cash: Mapped[float] = mapped_column(Float, default=0.0)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
