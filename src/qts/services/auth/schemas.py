"""Users: what is asked of the user service and what it answers."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qts.db.models import User
from qts.services.schemas import Record, Request

Role = Literal["admin", "trader", "viewer"]
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


class NewUser(Request):
    username: str = Field(min_length=3, max_length=64, pattern=USERNAME_PATTERN)
    password: str = Field(min_length=8, max_length=256)
    role: Role = "viewer"


class UserChanges(Request):
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=256)


class UserRecord(Record):
    id: int
    username: str
    role: Role
    is_active: bool
    created_at: str

    @classmethod
    def from_row(cls, user: User) -> UserRecord:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,  # type: ignore[arg-type]  # the column holds one of ROLES
            is_active=user.is_active,
            created_at=user.created_at.isoformat(),
        )


class TokenPair(Record):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
