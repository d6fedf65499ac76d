"""Market data tables: symbols, OHLCV bars, news and fundamentals."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qts.db.base import Base, utcnow


class Symbol(Base):
    __tablename__ = "symbols"
    __table_args__ = (UniqueConstraint("exchange", "symbol"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    asset_class: Mapped[str] = mapped_column(String(16), default="stock")  # stock|crypto|etf|index
    currency: Mapped[str] = mapped_column(String(8), default="USD")
    lot_size: Mapped[float] = mapped_column(Float, default=1.0)
    tick_size: Mapped[float] = mapped_column(Float, default=0.01)
    quantity_step: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bar(Base):
    """One OHLCV bar. `ts` is the bar open time in epoch milliseconds, UTC: compact and fast
    to bulk-load on both backends, and free of SQLite's timezone quirks."""

    __tablename__ = "bars"

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)


class NewsItem(Base):
    """A news item; `known_at` is when qts could first have seen it (no look-ahead joins)."""

    __tablename__ = "news_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[datetime] = mapped_column(index=True)
    known_at: Mapped[datetime] = mapped_column(index=True)
    symbols: Mapped[str] = mapped_column(String(255), default="")  # comma-separated, ",A,B," form
    headline: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(128), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Score in [-1, 1] (None: not scored, e.g. Korean text with no Korean model installed),
    # the model that gave it (`vader`, `finbert:<dir>`, `provider:<column>`) and the text's
    # language (`ko` when the headline has Hangul, else `en`).
    sentiment: Mapped[float | None] = mapped_column(Float, nullable=True)
    sentiment_model: Mapped[str] = mapped_column(String(128), default="", server_default="")
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")


class Fundamental(Base):
    """One fundamental metric of a symbol for a period, as known from `known_at` on."""

    __tablename__ = "fundamentals"
    __table_args__ = (Index("ix_fundamentals_lookup", "exchange", "symbol", "metric", "known_at"),)

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    period_end: Mapped[date] = mapped_column(Date, primary_key=True)
    known_at: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Float)
