"""User management and login."""

from __future__ import annotations

import re
from typing import Any

from qts.adapters.login_throttle import LoginThrottle
from qts.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from qts.db import Database
from qts.db.models import User
from qts.db.repositories.audit import AuditRepository
from qts.db.repositories.users import UserRepository
from qts.services.auth.security import ROLES, TokenService, hash_password, verify_password

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD_LENGTH = 8


def user_to_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "is_active": user.is_active,
        "created_at": user.created_at.isoformat(),
    }


def validate_new_user(username: str, password: str, role: str) -> None:
    if not USERNAME_RE.match(username):
        raise ValidationError("username must be 3-64 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    db: Database, username: str, password: str, role: str, actor: str = "cli"
) -> dict[str, Any]:
    validate_new_user(username, password, role)
    with db.session() as s:
        repo = UserRepository(s)
        if repo.by_username(username) is not None:
            raise ConflictError(f"user {username!r} already exists")
        user = repo.add(username, hash_password(password), role)
        AuditRepository(s).record(actor, "user.create", username, {"role": role})
        return user_to_dict(user)


def list_users(db: Database) -> list[dict[str, Any]]:
    with db.session() as s:
        return [user_to_dict(u) for u in UserRepository(s).list()]


def update_user(
    db: Database,
    user_id: int,
    actor: str,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    with db.session() as s:
        user = UserRepository(s).get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found")
        changes: dict[str, Any] = {}
        if role is not None:
            if role not in ROLES:
                raise ValidationError(f"role must be one of {', '.join(ROLES)}")
            user.role = changes["role"] = role
        if is_active is not None:
            user.is_active = changes["is_active"] = is_active
        if password is not None:
            if len(password) < MIN_PASSWORD_LENGTH:
                raise ValidationError(
                    f"password must have at least {MIN_PASSWORD_LENGTH} characters"
                )
            user.password_hash = hash_password(password)
            changes["password"] = "changed"
        AuditRepository(s).record(actor, "user.update", user.username, changes)
        return user_to_dict(user)


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

    def login(self, username: str, password: str, client: str = "") -> dict[str, Any]:
        keys = [f"user:{username.lower()}"] + ([f"ip:{client}"] if client else [])
        wait = max(self.throttle.retry_after(k) for k in keys)
        if wait:
            raise RateLimitedError("too many failed logins; try again later", {"retry_after": wait})
        with self.db.session() as s:
            user = UserRepository(s).by_username(username)
            ok = verify_password(user.password_hash if user else None, password)
            if not ok or user is None or not user.is_active:
                for k in keys:
                    self.throttle.failure(k)
                AuditRepository(s).record(username, "auth.login_failed", client)
                raise AuthenticationError("incorrect username or password")
            for k in keys:
                self.throttle.success(k)
            AuditRepository(s).record(username, "auth.login", client)
            return self.tokens.pair(user.username, user.role)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        claims = self.tokens.decode(refresh_token, "refresh")
        with self.db.session() as s:
            user = UserRepository(s).by_username(claims.subject)
            if user is None or not user.is_active:
                raise AuthenticationError("user no longer active")
            # The role is read again so a demotion takes effect at the next refresh.
            return self.tokens.pair(user.username, user.role)

    def current_user(self, access_token: str) -> dict[str, Any]:
        claims = self.tokens.decode(access_token, "access")
        with self.db.session() as s:
            user = UserRepository(s).by_username(claims.subject)
            if user is None or not user.is_active:
                raise AuthenticationError("user no longer active")
            return user_to_dict(user)
