"""User management and login."""

from __future__ import annotations

from typing import Any

from qts.adapters.login_throttle import LoginThrottle
from qts.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
)
from qts.db import Database
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.users import UserRepository
from qts.services.auth.schemas import NewUser, TokenPair, UserChanges, UserRecord
from qts.services.auth.security import TokenService, hash_password, verify_password


def create_user(db: Database, new: NewUser, actor: str = "cli") -> UserRecord:
    with db.session() as s:
        repo = UserRepository(s)
        if repo.by_username(new.username) is not None:
            raise ConflictError(f"user {new.username!r} already exists")
        user = repo.add(new.username, hash_password(new.password), new.role)
        AuditRepository(s).record(actor, "user.create", new.username, {"role": new.role})
        return UserRecord.from_row(user)


def list_users(db: Database) -> list[UserRecord]:
    with db.session() as s:
        return [UserRecord.from_row(u) for u in UserRepository(s).list()]


def update_user(db: Database, user_id: int, changes: UserChanges, actor: str) -> UserRecord:
    with db.session() as s:
        user = UserRepository(s).get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found")
        audited: dict[str, Any] = {}
        if changes.role is not None:
            user.role = audited["role"] = changes.role
        if changes.is_active is not None:
            user.is_active = audited["is_active"] = changes.is_active
        if changes.password is not None:
            user.password_hash = hash_password(changes.password)
            audited["password"] = "changed"
        AuditRepository(s).record(actor, "user.update", user.username, audited)
        return UserRecord.from_row(user)


def delete_user(db: Database, user_id: int, actor: str) -> None:
    with db.session() as s:
        repo = UserRepository(s)
        user = repo.get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found")
        if user.username == actor:
            raise ConflictError("you cannot delete yourself")
        repo.delete(user)
        AuditRepository(s).record(actor, "user.delete", user.username)


class AuthService:
    def __init__(self, db: Database, tokens: TokenService, throttle: LoginThrottle) -> None:
        self.db = db
        self.tokens = tokens
        self.throttle = throttle

    def login(self, username: str, password: str, client: str = "") -> TokenPair:
        # The attempt is counted before the slow hash, so concurrent guesses cannot overrun it.
        attempt = self.throttle.acquire(username, client)
        with self.db.session() as s:
            user = UserRepository(s).by_username(username)
            ok = verify_password(user.password_hash if user else None, password)
            if not ok or user is None or not user.is_active:
                AuditRepository(s).record(username, "auth.login_failed", client)
                raise AuthenticationError("incorrect username or password")
            self.throttle.succeeded(attempt)
            AuditRepository(s).record(username, "auth.login", client)
            return self.tokens.pair(user.username, user.role)

    def refresh(self, refresh_token: str) -> TokenPair:
        claims = self.tokens.decode(refresh_token, "refresh")
        with self.db.session() as s:
            user = UserRepository(s).by_username(claims.subject)
            if user is None or not user.is_active:
                raise AuthenticationError("user no longer active")
            # The role is read again so a demotion takes effect at the next refresh.
            return self.tokens.pair(user.username, user.role)

    def current_user(self, access_token: str) -> UserRecord:
        claims = self.tokens.decode(access_token, "access")
        with self.db.session() as s:
            user = UserRepository(s).by_username(claims.subject)
            if user is None or not user.is_active:
                raise AuthenticationError("user no longer active")
            return UserRecord.from_row(user)
