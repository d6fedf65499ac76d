"""Fundamental metrics by report period and the time they became known (`known_at`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qts.db.models import Fundamental


class FundamentalsRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    @property
    def dialect(self) -> str:
        return self.s.get_bind().dialect.name

    def upsert_fundamentals(self, rows: Sequence[dict[str, Any]]) -> int:
        """Rows with exchange, symbol, metric, period_end, known_at, value; same key -> update."""
        if not rows:
            return 0
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(Fundamental)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(Fundamental)  # type: ignore[assignment]
        stmt = stmt.on_conflict_do_update(
            index_elements=["exchange", "symbol", "metric", "period_end", "known_at"],
            set_={"value": stmt.excluded.value},
        )
        self.s.execute(stmt, list(rows))
        return len(rows)

    def read_fundamentals(
        self, exchange: str, symbol: str, known_by: datetime | None = None
    ) -> list[dict[str, Any]]:
        q = (
            select(Fundamental)
            .where(Fundamental.exchange == exchange, Fundamental.symbol == symbol)
            .order_by(Fundamental.known_at, Fundamental.metric)
        )
        if known_by is not None:
            q = q.where(Fundamental.known_at <= known_by)
        return [
            {
                "metric": f.metric,
                "period_end": f.period_end.isoformat(),
                "known_at": f.known_at.isoformat(),
                "value": f.value,
            }
            for f in self.s.scalars(q)
        ]
