from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qts.db.models import User


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def get(self, user_id: int) -> User | None:
        return self.s.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        return self.s.scalar(select(User).where(User.username == username))

    def list(self) -> Sequence[User]:
        return self.s.scalars(select(User).order_by(User.id)).all()

    def count(self) -> int:
        return self.s.scalar(select(func.count()).select_from(User)) or 0

    def add(self, username: str, password_hash: str, role: str) -> User:
        user = User(username=username, password_hash=password_hash, role=role)
        self.s.add(user)
        self.s.flush()
        return user

    def delete(self, user: User) -> None:
        self.s.delete(user)
        self.s.flush()
