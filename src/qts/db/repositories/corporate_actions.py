"""Stored splits and dividends: upsert by (exchange, symbol, ex_date, kind), read per symbol."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from qts.core.errors import ValidationError
from qts.db.models import CorporateActionRow
from qts.market.corporate_actions import CorporateAction

KEY = ["exchange", "symbol", "ex_date", "kind"]


class CorporateActionsRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def upsert(self, actions: Sequence[CorporateAction], exchange: str | None = None) -> int:
        """Store `actions` (their own exchange, else `exchange`); the same key is updated."""
        if not actions:
            return 0
        now = datetime.now(UTC)
        rows = [
            {
                "exchange": a.exchange or exchange or "",
                "symbol": a.symbol,
                "ex_date": a.ex_date,
                "kind": a.kind,
                "ratio": a.ratio,
                "amount": a.amount,
                "source": a.source,
                "known_at": a.known_at or now,
            }
            for a in actions
        ]
        if any(not row["exchange"] for row in rows):
            raise ValidationError("every corporate action needs an exchange")
        if self.s.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(CorporateActionRow)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(CorporateActionRow)  # type: ignore[assignment]
        stmt = stmt.on_conflict_do_update(
            index_elements=KEY,
            set_={c: stmt.excluded[c] for c in ("ratio", "amount", "source", "known_at")},
        )
        self.s.execute(stmt, rows)
        return len(rows)

    def read(self, exchange: str | None = None, symbol: str | None = None) -> list[CorporateAction]:
        q = select(CorporateActionRow).order_by(
            CorporateActionRow.exchange, CorporateActionRow.symbol, CorporateActionRow.ex_date
        )
        if exchange is not None:
            q = q.where(CorporateActionRow.exchange == exchange)
        if symbol is not None:
            q = q.where(CorporateActionRow.symbol == symbol)
        return [
            CorporateAction(
                symbol=r.symbol,
                ex_date=r.ex_date,
                kind=r.kind,
                ratio=r.ratio,
                amount=r.amount,
                exchange=r.exchange,
                source=r.source,
                known_at=r.known_at,
            )
            for r in self.s.scalars(q)
        ]
