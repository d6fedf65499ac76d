from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qts.db.models import AuditLog


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def record(
        self, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None
    ) -> AuditLog:
        entry = AuditLog(actor=actor, action=action, target=target, details=details or {})
        self.s.add(entry)
        self.s.flush()
        return entry

    def list(
        self, limit: int = 100, offset: int = 0, action: str | None = None
    ) -> Sequence[AuditLog]:
        q = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit).offset(offset)
        if action:
            q = q.where(AuditLog.action == action)
        return self.s.scalars(q).all()
