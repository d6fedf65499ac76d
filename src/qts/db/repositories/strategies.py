from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qts.db.models import Strategy


class StrategyRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, strategy_id: int) -> Strategy | None:
        return self.s.get(Strategy, strategy_id)

    def by_name(self, name: str) -> Strategy | None:
        return self.s.scalar(select(Strategy).where(Strategy.name == name))

    def list(
        self, limit: int = 100, offset: int = 0, state: str | None = None
    ) -> Sequence[Strategy]:
        q = select(Strategy).order_by(Strategy.id).limit(limit).offset(offset)
        if state:
            q = q.where(Strategy.state == state)
        return self.s.scalars(q).all()

    def count(self, state: str | None = None) -> int:
        q = select(func.count()).select_from(Strategy)
        if state:
            q = q.where(Strategy.state == state)
        return self.s.scalar(q) or 0

    def add(self, strategy: Strategy) -> Strategy:
        self.s.add(strategy)
        self.s.flush()
        return strategy

    def delete(self, strategy: Strategy) -> None:
        self.s.delete(strategy)
        self.s.flush()
